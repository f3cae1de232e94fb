/**
 * fleet.workers on the embedded cluster: the same small run single-threaded and with two
 * worker threads gives a Result of the same shape and the same coverage, every tentacle's
 * events reach the one Recorder, and connection ids stay fleet-wide unique. A worker that
 * fails makes the run fail with an internal error naming it, in bounded time.
 */
import t, { type Test } from 'tap';
import type { PollfleetEvent } from '../../src/core/events.js';
import { PollfleetError } from '../../src/core/errors.js';
import { workerTestHooks } from '../../src/fleet/worker-pool.js';
import { routeFor } from '../../src/environment/routes/route-registry.js';
import type { Result } from '../../src/result/result.js';
import { resultSchema } from '../../src/result/result-schema.js';
import { runScenario } from '../../src/run/run-scenario.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import type { Scenario } from '../../src/scenario/resolve.js';
import { harnessLine } from '../../src/report/render-console.js';
import { judge } from '../../src/verdict/judge.js';
import { smallScenario } from '../helpers/run.js';

const TENTACLES = 6;
const NODES = 2;

function scenario(workers: number, name: string, rampUp = '1s'): Scenario {
  return scenarioFromObject(
    smallScenario({ name, cluster: { nodes: NODES, pollingPort: 0 }, fleet: { tentacles: TENTACLES, rampUp, workers }, duration: '3s' }),
    'test',
  );
}

async function run(workers: number, dir: string): Promise<{ result: Result; events: PollfleetEvent[] }> {
  const s = scenario(workers, `workers-${workers}`);
  const events: PollfleetEvent[] = [];
  const measured = await runScenario(s, { workDir: dir, toolVersion: 'test', onEvent: (e) => events.push(e) });
  return { result: judge(measured, s, [], { route: routeFor(s.route.kind).diagnosis }), events };
}

/** Result fields that are maps keyed by data (error kinds, task states, node names): their keys are numbers, not shape. */
const KEYED_BY_DATA = new Set(['failures', 'errors', 'errorExamples', 'errorExampleData', 'redisQueue', 'tasks', 'statusCounts', 'perNode', 'nodeCoverage', 'nodes', 'states', 'requestsSeen']);

/** Every key path of a value (array elements and data-keyed maps folded together): the Result's shape, not its numbers. */
function shape(v: unknown, path = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) shape(x, `${path}[]`, out);
  else if (v && typeof v === 'object') {
    // Within a data-keyed map too (task kind -> state -> count): its values hold data, not shape.
    const last = path.slice(path.lastIndexOf('.') + 1);
    const keyedByData = KEYED_BY_DATA.has(last) || last === '*';
    for (const [k, x] of Object.entries(v)) {
      const p = `${path}.${keyedByData ? '*' : k}`;
      out.add(p);
      shape(x, p, out);
    }
  }
  return out;
}

/** Figures only a fleet with worker threads has (optional in the Result). */
const WORKER_ONLY = /^\.harness\.workers|^\.harness\.fleet\.usableCores$|^\.scenario\.fleet\.workers$/;

t.test('workers 1 and workers 2: same Result shape, full coverage, every tentacle\'s events, unique connection ids', async (t) => {
  const one = await run(1, t.testdir());
  const two = await run(2, t.testdir());
  for (const [label, { result, events }] of [['workers 1', one], ['workers 2', two]] as const) {
    t.equal(result.summary.coverage.final, 1, `${label}: final coverage`);
    t.equal(result.summary.requests?.expired, 0, `${label}: nothing expired`);
    t.ok((result.summary.requests?.collected ?? 0) > 0, `${label}: work collected`);
    t.ok(resultSchema.safeParse(result).success, `${label}: the Result passes its schema`);
    for (let tt = 0; tt < TENTACLES; tt++) {
      const entries = new Set(events.filter((e) => e.type === 'identified' && e.tentacle === tt).map((e) => (e as { entry: number }).entry));
      t.equal(entries.size, NODES, `${label}: tentacle ${tt} identified on every entry`);
      t.ok(events.some((e) => e.type === 'polled' && e.tentacle === tt), `${label}: tentacle ${tt} polled`);
    }
    const starts = events.filter((e) => e.type === 'connect-start').map((e) => (e as { conn: number }).conn);
    t.equal(new Set(starts).size, starts.length, `${label}: ${starts.length} connection ids, none twice`);
    t.ok(events.some((e) => e.type === 'closed' && e.reason === 'stopped'), `${label}: the stop's END reached the sink`);
  }
  const strip = (s: Set<string>) => [...s].filter((k) => !WORKER_ONLY.test(k)).sort();
  t.same(strip(shape(two.result)), strip(shape(one.result)), 'the same keys, apart from the worker figures');
  t.equal(one.result.harness?.workers, undefined, 'workers 1: no worker breakdown');
  t.equal(one.result.harness?.fleet.usableCores, undefined);
  t.same(two.result.harness?.workers?.map((w) => w.worker), [0, 1], 'workers 2: each worker\'s loop delay');
  t.ok((two.result.harness?.fleet.usableCores ?? 0) >= 1, 'workers 2: the cores the CPU rule divides by');
  t.match(harnessLine(two.result.harness!), /^fleet \(main thread \+ 2 worker threads/, 'the report says the figures cover the worker threads');
  t.match(harnessLine(one.result.harness!), /^fleet loop delay/, 'single-threaded: the line as before');
  // Worker w of 2 gives conn ids w+1, w+3, ...: tentacle t's connections all come from worker t mod 2.
  const misplaced = two.events.filter((e) => e.type === 'connect-start' && (e.conn - 1) % 2 !== e.tentacle % 2);
  t.same(misplaced, [], 'each tentacle runs in worker t mod 2 and its ids come from that worker');
});

/** Run `s`, which must fail with an internal error within 60 s (never hang): the error and how long it took. */
async function failingRun(t: Test, s: Scenario): Promise<{ e: PollfleetError; ms: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    runScenario(s, { workDir: t.testdir(), toolVersion: 'test' }).then(
      () => 'resolved',
      (e: unknown) => e,
    ),
    new Promise((r) => (timer = setTimeout(() => r('hung'), 60_000))),
  ]);
  clearTimeout(timer);
  t.ok(outcome instanceof PollfleetError, `the run failed (${String(outcome)})`);
  const e = outcome as PollfleetError;
  t.equal(e.kind, 'internal');
  return { e, ms: performance.now() - started };
}

t.test('a worker thread that fails during the ramp makes the run fail at once with an internal error naming it, not hang', async (t) => {
  workerTestHooks.crashWorker = 1;
  t.teardown(() => void (workerTestHooks.crashWorker = null));
  // A 60 s ramp: tentacle 1 (worker 2's first) starts after 10 s, and the run must not wait for the rest of the ramp.
  const s = scenario(2, 'workers-crash', '60s');
  const { e, ms } = await failingRun(t, s);
  t.match(e.message, /fleet worker thread 2 of 2 failed: injected failure/);
  t.ok(ms < 40_000, `within ${Math.round(ms)} ms, well before the ramp-up would end`);
});

t.test('a worker thread that stops answering makes the run fail with an internal error, in bounded time', async (t) => {
  workerTestHooks.deafWorker = 0;
  workerTestHooks.replyTimeoutMs = 1_000;
  t.teardown(() => {
    workerTestHooks.deafWorker = null;
    workerTestHooks.replyTimeoutMs = null;
  });
  const s = scenario(2, 'workers-deaf');
  const { e, ms } = await failingRun(t, s);
  t.match(e.message, /fleet worker thread 1 of 2 failed: did not stop its tentacles within 1000 ms/);
  t.ok(ms < 30_000, `in bounded time (${Math.round(ms)} ms)`);
});
