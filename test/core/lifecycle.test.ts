import t from 'tap';
import { Lifecycle } from '../../src/core/lifecycle.js';
import { PollfleetError, exitCodeFor, EXIT_BAD_INPUT } from '../../src/core/errors.js';

/** A promise with its resolve/reject handles, to hold a hook open. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** A component whose hooks log what happens and can be held open or made to fail. */
class Probe extends Lifecycle<number> {
  readonly name = 'probe';
  readonly log: string[] = [];
  startGate: Promise<void> = Promise.resolve();
  stopGate: Promise<void> = Promise.resolve();
  startError: Error | null = null;

  protected async onStart(): Promise<number> {
    this.log.push('start');
    await this.startGate;
    if (this.startError) throw this.startError;
    this.log.push('started');
    return 42;
  }

  protected async onStop(): Promise<void> {
    this.log.push('stop');
    await this.stopGate;
    this.log.push('stopped');
  }

  poke(): void {
    this.refuseAfterStop('poke');
  }
}

async function kindOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as PollfleetError).kind;
  }
  return undefined;
}

t.test('start is idempotent: one hook call, the same promise, the same result', async (t) => {
  const c = new Probe();
  t.equal(c.state, 'new');
  const a = c.start();
  t.equal(c.state, 'starting', 'starting at once');
  const b = c.start();
  t.equal(a, b, 'the same promise');
  t.equal(await a, 42);
  t.equal(await c.start(), 42);
  t.equal(c.state, 'running');
  t.same(c.log, ['start', 'started']);
  await c.stop();
});

t.test('stop is idempotent: concurrent and later stops share one promise and one hook call', async (t) => {
  const c = new Probe();
  await c.start();
  const gate = deferred();
  c.stopGate = gate.promise;
  const a = c.stop();
  const b = c.stop();
  t.equal(a, b, 'concurrent stops get the same promise');
  t.equal(c.state, 'stopping');
  t.ok(c.isStopping);
  gate.resolve();
  await a;
  t.equal(c.stop(), a, 'a later stop gets it too');
  t.equal(c.state, 'stopped');
  t.same(c.log, ['start', 'started', 'stop', 'stopped'], 'onStop ran once');
});

t.test('start after stop is refused with kind lifecycle.stopped; so are guarded calls', async (t) => {
  const c = new Probe();
  await c.start();
  await c.stop();
  const refused = c.start();
  t.equal(await kindOf(refused), 'lifecycle.stopped');
  await t.rejects(c.start(), /probe: already stopped/, 'the message names the component');
  let thrown: unknown;
  try {
    c.poke();
  } catch (e) {
    thrown = e;
  }
  t.ok(thrown instanceof PollfleetError, 'refuseAfterStop throws a PollfleetError');
  t.equal((thrown as PollfleetError).kind, 'lifecycle.stopped');
  t.equal(c.log.filter((x) => x === 'start').length, 1, 'the start hook did not run again');
  t.not(exitCodeFor('lifecycle.stopped'), EXIT_BAD_INPUT, 'a use after stop is not bad input');
  t.equal(exitCodeFor('lifecycle.stopped'), exitCodeFor('internal'), 'it is an internal error');
});

t.test('guarded calls work while running', async (t) => {
  const c = new Probe();
  await c.start();
  t.doesNotThrow(() => c.poke());
  await c.stop();
});

t.test('a stop during a start waits for the start to settle, then stops', async (t) => {
  const c = new Probe();
  const gate = deferred();
  c.startGate = gate.promise;
  const started = c.start();
  const stopped = c.stop();
  await new Promise((r) => setImmediate(r));
  t.same(c.log, ['start'], 'onStop has not run while onStart is still going');
  gate.resolve();
  t.equal(await started, 42, 'the start still completes');
  await stopped;
  t.same(c.log, ['start', 'started', 'stop', 'stopped']);
  t.equal(c.state, 'stopped', 'not "running": the stop won');
});

t.test('a failed start stops the component and rejects with the start error', async (t) => {
  const c = new Probe();
  c.startError = new PollfleetError('environment.failed', 'port taken');
  await t.rejects(c.start(), { kind: 'environment.failed', message: 'port taken' });
  t.same(c.log, ['start', 'stop', 'stopped'], 'onStop released what the start got hold of');
  t.equal(c.state, 'stopped');
  t.equal(await kindOf(c.start()), 'lifecycle.stopped', 'no second try on a stopped component');
  await c.stop(); // still fine, and no second onStop
  t.same(c.log, ['start', 'stop', 'stopped']);
});

t.test('a failed start while a stop is already waiting does not deadlock', async (t) => {
  const c = new Probe();
  const gate = deferred();
  c.startGate = gate.promise;
  c.startError = new Error('boom');
  const started = c.start();
  const stopped = c.stop();
  gate.resolve();
  await t.rejects(started, /boom/);
  await stopped;
  t.same(c.log, ['start', 'stop', 'stopped'], 'one stop');
});

t.test('a start hook that throws synchronously is a rejected start, not a throw', async (t) => {
  class Sync extends Lifecycle {
    readonly name = 'sync';
    stops = 0;
    protected onStart(): Promise<void> {
      throw new Error('sync boom');
    }
    protected async onStop(): Promise<void> {
      this.stops++;
    }
  }
  const c = new Sync();
  let p: Promise<void> | undefined;
  t.doesNotThrow(() => {
    p = c.start();
  });
  await t.rejects(p!, /sync boom/);
  t.equal(c.stops, 1);
});

t.test('stop before any start runs onStop once and refuses a later start', async (t) => {
  const c = new Probe();
  await c.stop();
  t.same(c.log, ['stop', 'stopped']);
  t.equal(await kindOf(c.start()), 'lifecycle.stopped');
});

t.test('a failing onStop rejects every stop caller with the same error, and the state is stopped', async (t) => {
  const c = new Probe();
  await c.start();
  c.stopGate = Promise.reject(new Error('close failed'));
  const a = c.stop();
  const b = c.stop();
  await t.rejects(a, /close failed/);
  await t.rejects(b, /close failed/);
  t.equal(c.state, 'stopped');
});
