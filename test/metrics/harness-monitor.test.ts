import t from 'tap';
import { HarnessMonitor, harnessResult, harnessSaturation } from '../../src/metrics/harness-monitor.js';
import { HARNESS_DEFAULTS } from '../../src/scenario/defaults.js';

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // the loop is blocked on purpose
  }
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

t.test('a deliberately blocked loop shows in the delay figures, and the CPU share counts the busy-wait', async (t) => {
  const monitor = new HarnessMonitor();
  monitor.start();
  await pause(100);
  busyWait(300);
  await pause(100);
  const health = monitor.stop();
  t.ok(health, 'figures after a start');
  const d = health!.loopDelayMs;
  t.ok(d.max !== null && d.max >= 250, `max ${d.max} ms >= 250 ms after a 300 ms block`);
  t.ok(d.p99 !== null && d.p99 >= 250, `p99 ${d.p99} ms >= 250 ms (the block is one of a few samples)`);
  t.ok(d.p50 !== null && d.p50 <= d.p99!, 'p50 <= p99');
  // The busy-wait was most of the run; on a shared machine it gets only part of a core, hence the low bar.
  t.ok(health!.cpuShare > 0.05, `cpu share ${health!.cpuShare} of one core counts the busy-wait`);
  t.ok(health!.cpuCores <= health!.cpuShare, 'a share of all cores is at most the share of one');
  t.equal(monitor.stop(), null, 'a second stop has nothing to report');
});

t.test('the loop while held is measured from markSteady: a block before it shows only in the whole run', async (t) => {
  const monitor = new HarnessMonitor();
  monitor.markSteady();
  t.equal(monitor.stop(), null, 'marking before start does nothing');
  monitor.start();
  await pause(50);
  busyWait(300);
  await pause(50);
  monitor.markSteady();
  await pause(300);
  const health = monitor.stop()!;
  t.ok(health.loopDelayMs.max! >= 250, `whole run max ${health.loopDelayMs.max} ms has the block`);
  const held = health.steadyLoopDelayMs;
  t.ok(held, 'a steady figure after markSteady');
  // Generous: the machine is shared; an idle loop is not blocked for anything like 250 ms.
  t.ok(held!.max !== null && held!.max < 250, `while held max ${held!.max} ms leaves the block out`);

  const later = new HarnessMonitor();
  later.start();
  later.markSteady();
  await pause(50);
  busyWait(300);
  await pause(50);
  const h2 = later.stop()!;
  t.ok(h2.steadyLoopDelayMs!.max! >= 250, `a block while held shows there: max ${h2.steadyLoopDelayMs!.max} ms`);
  const never = new HarnessMonitor();
  never.start();
  t.equal(never.stop()!.steadyLoopDelayMs, undefined, 'no steady figure without markSteady');
});

t.test('an idle loop stays near the resolution', async (t) => {
  const monitor = new HarnessMonitor();
  monitor.start();
  await pause(300);
  const health = monitor.stop()!;
  // Generous: the machine is shared; an idle loop is not blocked for anything like 250 ms.
  t.ok(health.loopDelayMs.max! < 250, `max ${health.loopDelayMs.max} ms`);
  t.ok(health.loopDelayMs.p50! < 50, `p50 ${health.loopDelayMs.p50} ms`);
  t.ok(health.cpuShare < 0.9, `cpu share ${health.cpuShare}`);
});

t.test('saturation names the figure that passed its limit', async (t) => {
  const fine = { loopDelayMs: { p50: 10, p99: 12, max: 30 }, cpuShare: 0.2, cpuCores: 0.1 };
  t.same(harnessSaturation(fine), []);
  t.equal(harnessResult(fine).saturated, false);
  const lagging = { ...fine, loopDelayMs: { p50: 11, p99: 180, max: 310 } };
  const reasons = harnessSaturation(lagging);
  t.equal(reasons.length, 1);
  t.match(reasons[0], /event loop lagged 180 ms at p99 \(limit 50 ms\)/);
  t.same(harnessResult(lagging), { fleet: lagging, nodes: null, saturated: true, reasons });
  const busy = { ...fine, cpuShare: 0.97 };
  t.match(harnessSaturation(busy)[0], /97 % of one core \(limit 90 %\)/);
  t.same(harnessSaturation({ ...fine, loopDelayMs: { p50: null, p99: null, max: null } }), [], 'no samples: nothing to say');
  t.same(harnessSaturation(lagging, { ...HARNESS_DEFAULTS, loopDelayP99LimitMs: 200 }), [], 'limits can be passed');
});
