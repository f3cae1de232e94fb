import t from 'tap';
import { EventBatcher } from '../../src/fleet/event-batcher.js';
import { fleetWorkerCount } from '../../src/plan/worker-count.js';
import { workerConnIds, workerOf } from '../../src/fleet/worker-protocol.js';
import { exitCodeFor, PollfleetError } from '../../src/core/errors.js';
import { FLEET_DEFAULTS, HARNESS_DEFAULTS } from '../../src/scenario/defaults.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { harnessSaturation, withWorkerLoops } from '../../src/metrics/harness-monitor.js';
import { overridesFromFlags } from '../../src/cli/commands/run.js';
import { harnessResult } from '../../src/metrics/harness-monitor.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { loadResult } from '../helpers/report-fixtures.js';
import { spawnCli } from '../helpers/run.js';

t.test('connection ids: worker w of W counts w+1, W+w+1, ... and no two workers ever meet', async (t) => {
  const W = 3;
  const gens = Array.from({ length: W }, (_, w) => workerConnIds(w, W));
  t.same([gens[0]!(), gens[0]!(), gens[0]!()], [1, 4, 7]);
  t.same([gens[2]!(), gens[2]!()], [3, 6]);
  const seen = new Set<number>([1, 4, 7, 3, 6]);
  // Uneven use, as real workers reconnect at different rates.
  const twice: number[] = [];
  for (let i = 0; i < 1_000; i++) {
    const id = gens[i % 7 === 0 ? 2 : i % 2]!();
    if (seen.has(id)) twice.push(id);
    seen.add(id);
  }
  t.same(twice, [], 'no id given twice');
  t.equal(seen.size, 1_005);
  t.same([0, 1, 2, 3, 4, 5].map((x) => workerOf(x, 2)), [0, 1, 0, 1, 0, 1], 'tentacle t runs in worker t mod W');
});

t.test('events are batched: a full batch at once, the rest after the delay, everything in order, flush hands on the remainder', async (t) => {
  const batches: number[][] = [];
  const b = new EventBatcher<number>((xs) => batches.push(xs), 4, 20);
  for (let i = 0; i < 10; i++) b.push(i);
  t.same(batches, [[0, 1, 2, 3], [4, 5, 6, 7]], 'two full batches at once');
  t.equal(b.pending, 2);
  await new Promise((r) => setTimeout(r, 60));
  t.same(batches[2], [8, 9], 'the rest after the delay');
  b.push(10);
  b.push(11);
  b.flush();
  t.same(batches[3], [10, 11], 'flush hands on what waits');
  b.flush();
  t.equal(batches.length, 4, 'an empty flush sends nothing');
  await new Promise((r) => setTimeout(r, 40));
  t.equal(batches.length, 4, 'no timer left behind by a flush');
  t.same(batches.flat(), Array.from({ length: 12 }, (_, i) => i), 'every item once, in order');
});

t.test('fleet.workers auto: one per ~2,500 tentacles, at most cores - 1, at least 1; a number as it is', async (t) => {
  const per = FLEET_DEFAULTS.tentaclesPerWorker;
  t.equal(per, 2_500);
  t.equal(fleetWorkerCount('auto', 100, 8), 1, 'a small fleet stays single-threaded');
  t.equal(fleetWorkerCount('auto', per, 8), 1);
  t.equal(fleetWorkerCount('auto', per + 1, 8), 2);
  t.equal(fleetWorkerCount('auto', 10_000, 8), 4);
  t.equal(fleetWorkerCount('auto', 10_000, 2), 1, 'a 2-core machine keeps the fleet on one thread');
  t.equal(fleetWorkerCount('auto', 100_000, 4), 3, 'at most cores - 1');
  t.equal(fleetWorkerCount('auto', 10_000, 1), 1, 'at least 1');
  t.equal(fleetWorkerCount(3, 10, 2), 3, 'a number is taken as given');
  t.equal(FLEET_DEFAULTS.workers, 1);
});

t.test('fleet.workers in a scenario: default 1, auto or a number; anything else names the field', async (t) => {
  const base = { name: 'w', fleet: { tentacles: 4 }, duration: '5s' };
  t.equal(scenarioFromObject(base, 'w').fleet.workers, 1);
  t.equal(scenarioFromObject({ ...base, fleet: { tentacles: 4, workers: 'auto' } }, 'w').fleet.workers, 'auto');
  t.equal(scenarioFromObject({ ...base, fleet: { tentacles: 4, workers: 2 } }, 'w').fleet.workers, 2);
  for (const bad of [0, -1, 1.5, 'many', 65]) {
    try {
      scenarioFromObject({ ...base, fleet: { tentacles: 4, workers: bad } }, 'w');
      t.fail(`workers ${JSON.stringify(bad)} accepted`);
    } catch (e) {
      t.ok(e instanceof PollfleetError && e.kind === 'scenario.invalid', `workers ${JSON.stringify(bad)}: scenario.invalid`);
      t.equal(exitCodeFor((e as PollfleetError).kind), 2);
      t.match((e as Error).message, /fleet\.workers/, 'names the field');
    }
  }
});

t.test('--workers on the command line sets fleet.workers, next to --tentacles', async (t) => {
  t.same(overridesFromFlags({ workers: 'auto', tentacles: '10' }), { fleet: { tentacles: 10, workers: 'auto' } });
  t.same(overridesFromFlags({ workers: '3' }), { fleet: { workers: 3 } });
  t.throws(() => overridesFromFlags({ workers: 'lots' }), { name: 'PollfleetError', message: /--workers/ });
  t.equal(scenarioFromObject({ name: 'w', ...overridesFromFlags({ workers: '2' }), duration: '5s' }, 'flags').fleet.workers, 2);
});

t.test('run --help lists --workers', async (t) => {
  const cli = spawnCli(['run', '--help']);
  const { code } = await cli.exited(60_000);
  t.equal(code, 0);
  t.match(cli.stdout(), /--workers <auto\|n>\s+fleet\.workers: worker threads/);
});

t.test('harness with workers: the worst loop of every thread, CPU judged per usable core', async (t) => {
  const main = { loopDelayMs: { p50: 1, p99: 5, max: 30 }, cpuShare: 1.5, cpuCores: 0.375 };
  t.same(withWorkerLoops(main, [], 4), main, 'no workers: unchanged');
  const f = withWorkerLoops(main, [{ worker: 0, loopDelayMs: { p50: 2, p99: 70, max: 20 } }, { worker: 1, loopDelayMs: { p50: null, p99: null, max: null } }], 4);
  t.same(f.loopDelayMs, { p50: 2, p99: 70, max: 30 }, 'each figure the worst of main and workers');
  t.equal(f.cpuShare, 1.5, 'the process share stays as measured (every thread)');
  t.equal(f.usableCores, 3, 'main + 2 workers on 4 cores');
  const reasons = harnessSaturation(f);
  t.match(reasons.join('; '), /event loop lagged 70 ms/);
  t.notMatch(reasons.join('; '), /core/, '1.5 cores of 3 is not saturated');
  t.equal(withWorkerLoops(main, [{ worker: 0, loopDelayMs: main.loopDelayMs }, { worker: 1, loopDelayMs: main.loopDelayMs }], 2).usableCores, 2, 'at most the machine\'s cores');
  const held = withWorkerLoops(
    { ...main, steadyLoopDelayMs: { p50: 1, p99: 4, max: 9 } },
    [{ worker: 0, loopDelayMs: main.loopDelayMs, steadyLoopDelayMs: { p50: 1, p99: 12, max: 8 } }, { worker: 1, loopDelayMs: main.loopDelayMs }],
    4,
  );
  t.same(held.steadyLoopDelayMs, { p50: 1, p99: 12, max: 9 }, 'while held: each figure the worst thread\'s too');
  t.equal(withWorkerLoops(main, [{ worker: 0, loopDelayMs: main.loopDelayMs, steadyLoopDelayMs: main.loopDelayMs }], 4).steadyLoopDelayMs, undefined, 'no steady figure when the run never got past its ramp');
  const busy = { ...f, loopDelayMs: main.loopDelayMs, cpuShare: 2.9 };
  t.match(harnessSaturation(busy).join(''), /97 % of each of the 3 cores/);
  t.ok(harnessSaturation({ ...main, cpuShare: HARNESS_DEFAULTS.cpuShareLimit + 0.05 }).join('').includes('of one core'), 'single-threaded: the rule as before');
});

t.test('markdown report: with workers, the fleet row covers every thread and each worker has its loop row', async (t) => {
  const main = { loopDelayMs: { p50: 1, p99: 5, max: 30 }, cpuShare: 1.5, cpuCores: 0.375 };
  const workers = [{ worker: 0, loopDelayMs: { p50: 2, p99: 70, max: 20 } }, { worker: 1, loopDelayMs: { p50: 1, p99: 4, max: 9 } }];
  const r = { ...loadResult('result-pass-direct'), harness: harnessResult(withWorkerLoops(main, workers, 4), null, workers) };
  const text = renderMarkdown(r);
  t.match(text, /\| fleet \(every thread\) \| 2 ms \| 70 ms \| 30 ms \| 150 % \|/);
  t.match(text, /\| fleet worker 1 \| 2 ms \| 70 ms \| 20 ms \|/);
  t.match(text, /\| fleet worker 2 \| 1 ms \| 4 ms \| 9 ms \|/);
});
