/**
 * The harness self-check in a real run: the fleet runs in this test's process, so the test
 * blocks that process's event loop itself (busy-waits on a timer) and the Result must say the
 * harness was saturated -- with no help from production code.
 */
import t from 'tap';
import { runSmall, smallScenario } from '../../helpers/run.js';

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // the fleet's loop is blocked on purpose
  }
}

t.test('a fleet whose loop is blocked during the run is reported as saturated', async (t) => {
  const blocker = setInterval(() => busyWait(120), 150);
  let result;
  try {
    result = await runSmall(smallScenario({ name: 'harness-blocked', fleet: { tentacles: 3, rampUp: '1s' }, duration: '3s' }), t.testdir());
  } finally {
    clearInterval(blocker);
  }
  const h = result.harness;
  t.ok(h, 'the Result carries the harness block');
  t.ok(h!.fleet.loopDelayMs.p99 !== null && h!.fleet.loopDelayMs.p99 >= 80, `fleet loop p99 ${h!.fleet.loopDelayMs.p99} ms`);
  t.equal(h!.saturated, true);
  t.match(h!.reasons.join('; '), /event loop lagged \d+ ms at p99/);
  t.equal(h!.nodes, null, 'node processes do not report their figures yet');
  const warning = result.diagnosis.find((d) => d.startsWith('Harness saturated'));
  t.ok(warning, `diagnosis: ${result.diagnosis.join(' | ')}`);
  t.notOk(
    result.thresholds.some((x) => x.metric.startsWith('harness.')),
    'a run (not check) has no harness threshold by default: the warning alone does not fail it',
  );
});

t.test('an unblocked run carries the figures too', async (t) => {
  const result = await runSmall(smallScenario({ name: 'harness-free', fleet: { tentacles: 3, rampUp: '1s' }, duration: '4s' }), t.testdir());
  const h = result.harness!;
  t.ok(h.fleet.loopDelayMs.p50 !== null && h.fleet.loopDelayMs.p50 >= 0, `p50 ${h.fleet.loopDelayMs.p50} ms`);
  t.ok(h.fleet.cpuShare >= 0 && h.fleet.cpuCores <= h.fleet.cpuShare, `cpu ${h.fleet.cpuShare} / ${h.fleet.cpuCores}`);
  t.equal(h.saturated, h.reasons.length > 0, 'saturated exactly when a reason is given');
  // Held from the end of the ramp plus the settle time (pollingQueueWait, 2 s here) on.
  const held = h.fleet.steadyLoopDelayMs;
  t.ok(held && held.p99 !== null && held.p99 >= 0, `the loop while held, after the ramp: p99 ${held?.p99} ms`);
});
