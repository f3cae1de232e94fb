import { Worker } from 'node:worker_threads';
import { siblingModule } from '../core/child-module.js';
import { PollfleetError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import { FLEET_DEFAULTS } from '../scenario/defaults.js';
import {
  workerOf, type FromWorker, type ToWorker, type WorkerLoopHealth, type WorkerSettings, type WorkerTentacle,
} from './worker-protocol.js';

/**
 * Tests only, not an option of any scenario or command: once handed its first tentacle, worker
 * `crashWorker` throws an uncaught error, and worker `deafWorker` stops answering (health,
 * stop) as a stuck thread would; `replyTimeoutMs` shortens how long a reply is awaited. The
 * run must then fail with an internal error naming the worker, in bounded time.
 */
export const workerTestHooks: { crashWorker: number | null; deafWorker: number | null; replyTimeoutMs: number | null } = {
  crashWorker: null,
  deafWorker: null,
  replyTimeoutMs: null,
};

const replyTimeoutMs = () => workerTestHooks.replyTimeoutMs ?? FLEET_DEFAULTS.workerStopTimeoutMs;

interface Slot {
  index: number;
  worker: Worker;
  /** Exited (or terminated by us). */
  exited: boolean;
  started: number;
  /** Resolves when the worker said `ready`. */
  ready: Promise<void>;
  /** Waiting for replies; each is called with null when the worker exits first. */
  waiters: Set<(m: FromWorker | null) => void>;
}

/**
 * The fleet's worker threads (fleet.workers > 1), main-thread side. Tentacle t runs in worker
 * t mod count (src/fleet/fleet-worker.ts); the events each worker sends back are fed, in the
 * order it sent them, into the one sink of the run. A worker that errors or exits on its own is
 * an internal error: `failed` rejects with it (naming the worker), and stop() rejects with it
 * too -- after stopping every other worker, in bounded time.
 */
export class WorkerPool {
  readonly count: number;
  /** Rejects with the first worker failure; never resolves. */
  readonly failed: Promise<never>;
  #slots: Slot[] = [];
  #sink: EventSink;
  #failure: PollfleetError | null = null;
  #reject!: (e: PollfleetError) => void;
  #stopping: Promise<WorkerLoopHealth[]> | null = null;

  constructor(settings: Omit<WorkerSettings, 'index' | 'count'>, count: number, sink: EventSink) {
    this.count = count;
    this.#sink = sink;
    this.failed = new Promise<never>((_, reject) => (this.#reject = reject));
    this.failed.catch(() => undefined);
    for (let w = 0; w < count; w++) this.#slots.push(this.#spawn({ ...settings, index: w, count }));
  }

  /** Resolves when every worker is ready for tentacles (bounded); rejects when one fails first. */
  async start(): Promise<void> {
    const ready = Promise.all(this.#slots.map((s) => s.ready));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PollfleetError('internal', `the fleet's ${this.count} worker threads did not start within ${FLEET_DEFAULTS.workerStartTimeoutMs} ms`)),
        FLEET_DEFAULTS.workerStartTimeoutMs,
      );
    });
    try {
      await Promise.race([ready, this.failed, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Hand tentacle `t.index` to its worker (ignored once stopping or after a failure). */
  run(t: WorkerTentacle): void {
    const s = this.#slots[workerOf(t.index, this.count)]!;
    if (this.#stopping || this.#failure || s.exited) return;
    s.worker.postMessage({ type: 'start', tentacle: t } satisfies ToWorker);
    if (++s.started === 1 && workerTestHooks.crashWorker === s.index) s.worker.postMessage({ type: 'crash' } satisfies ToWorker);
    if (s.started === 1 && workerTestHooks.deafWorker === s.index) s.worker.postMessage({ type: 'deafen' } satisfies ToWorker);
  }

  /** The ramp is over: each live worker measures its loop from now on as well. */
  markSteady(): void {
    for (const s of this.#slots) if (!s.exited) s.worker.postMessage({ type: 'steady' } satisfies ToWorker);
  }

  /** Each live worker's loop delay so far (bounded; a worker that does not answer in time is left out). */
  async health(): Promise<WorkerLoopHealth[]> {
    const replies = await Promise.all(this.#slots.map((s) => this.#ask(s, { type: 'health' }, 'health')));
    return replies.flatMap((m) => (m?.type === 'health' ? [m.health] : []));
  }

  /**
   * Every worker stops its tentacles (END on identified connections), sends its last events and
   * its loop delay, and is terminated. Bounded: a worker that does not answer within
   * FLEET_DEFAULTS.workerStopTimeoutMs is terminated and counts as failed. Rejects with the
   * internal error when any worker failed during the run. Idempotent.
   */
  stop(): Promise<WorkerLoopHealth[]> {
    this.#stopping ??= (async () => {
      const replies = await Promise.all(
        this.#slots.map(async (s) => {
          const m = await this.#ask(s, { type: 'stop' }, 'stopped');
          if (!m && !s.exited) this.#fail(s, `did not stop its tentacles within ${replyTimeoutMs()} ms`);
          s.exited = true;
          await s.worker.terminate().catch(() => undefined);
          return m?.type === 'stopped' ? [m.health] : [];
        }),
      );
      if (this.#failure) throw this.#failure;
      return replies.flat();
    })();
    return this.#stopping;
  }

  /** Post `m` and wait for the reply of type `reply` (null: exited, or no answer in time). */
  #ask(s: Slot, m: ToWorker, reply: FromWorker['type']): Promise<FromWorker | null> {
    if (s.exited) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), replyTimeoutMs());
      const waiter = (r: FromWorker | null) => {
        if (r === null || r.type === reply) done(r);
      };
      const done = (r: FromWorker | null) => {
        clearTimeout(timer);
        s.waiters.delete(waiter);
        resolve(r);
      };
      s.waiters.add(waiter);
      s.worker.postMessage(m);
    });
  }

  #spawn(settings: WorkerSettings): Slot {
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((r) => (markReady = r));
    const slot: Slot = { index: settings.index, worker: startWorker(settings), exited: false, started: 0, ready, waiters: new Set() };
    const w = slot.worker;
    w.on('message', (m: FromWorker) => {
      if (m.type === 'events') {
        for (const e of m.events) this.#sink(e);
      } else if (m.type === 'ready') {
        markReady();
      } else {
        for (const waiter of [...slot.waiters]) waiter(m);
      }
    });
    w.on('error', (e) => this.#fail(slot, e instanceof Error ? e.message : String(e)));
    w.on('messageerror', (e) => this.#fail(slot, `a message could not be read: ${e.message}`));
    w.on('exit', (code) => {
      const expected = slot.exited;
      slot.exited = true;
      if (!expected) this.#fail(slot, `exited unexpectedly (exit code ${code})`);
      for (const waiter of [...slot.waiters]) waiter(null);
    });
    return slot;
  }

  #fail(s: Slot, why: string): void {
    if (this.#failure) return;
    this.#failure = new PollfleetError('internal', `fleet worker thread ${s.index + 1} of ${this.count} failed: ${why}`, {
      hint: 'its tentacles stopped polling; run with fleet.workers: 1 to keep the fleet on one thread',
    });
    this.#reject(this.#failure);
  }
}

/**
 * Start the worker entry (src/fleet/fleet-worker): the built .js directly; under tsx (tests,
 * development), like src/core/child-module.ts does for child processes, through tsx's loader --
 * a worker does not take `--import tsx`, so a small bootstrap registers it and imports the .ts.
 */
function startWorker(settings: WorkerSettings): Worker {
  const entry = siblingModule(import.meta.url, 'fleet-worker');
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData: settings });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: settings });
}
