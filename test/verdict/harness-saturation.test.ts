/**
 * The harness self-check in the verdict: a "harness saturated" warning in the diagnosis when
 * the fleet's own loop delay or CPU says its timings cannot be trusted (a warning, not a
 * failure), the harness.* metrics a threshold can read, and check's default threshold.
 */
import t from 'tap';
import type { HarnessProcess } from '../../src/result/result.js';
import { harnessResult } from '../../src/metrics/harness-monitor.js';
import { resultSchema } from '../../src/result/result-schema.js';
import type { Scenario } from '../../src/scenario/resolve.js';
import { diagnose } from '../../src/verdict/diagnose.js';
import { computeVerdict, evaluateThresholds } from '../../src/verdict/evaluate.js';
import { checkExtraThresholds } from '../../src/verdict/judge.js';
import { parseThresholds } from '../../src/verdict/threshold-parser.js';
import { cleanRun, type MeasuredResult } from '../helpers/result-factory.js';

const FINE: HarnessProcess = { loopDelayMs: { p50: 10.1, p99: 12.3, max: 31 }, cpuShare: 0.25, cpuCores: 0.125 };
const LAGGING: HarnessProcess = { loopDelayMs: { p50: 10.4, p99: 180, max: 312 }, cpuShare: 0.5, cpuCores: 0.25 };

function withHarness(fleet: HarnessProcess | null): MeasuredResult {
  const r = cleanRun();
  return fleet ? { ...r, harness: harnessResult(fleet) } : r;
}

function judged(r: MeasuredResult, thresholds: string[]) {
  const measured = { ...r, diagnosis: diagnose(r) };
  const results = evaluateThresholds(measured, parseThresholds(thresholds));
  return { diagnosis: measured.diagnosis, results, verdict: computeVerdict(measured, results) };
}

t.test('a lagging fleet loop gives a harness-saturated warning naming the figure, not a failure', async (t) => {
  const { diagnosis, verdict } = judged(withHarness(LAGGING), ['coverage.final >= 1']);
  t.equal(diagnosis.length, 1);
  t.match(diagnosis[0], /^Harness saturated: the fleet's own event loop lagged 180 ms at p99 \(limit 50 ms\): its timings cannot be trusted -- use fewer tentacles per machine, or shards/);
  t.equal(verdict.pass, true, 'a warning only, unless a threshold says so');
});

t.test('a busy fleet process (CPU share of one core) is named too', async (t) => {
  const { diagnosis } = judged(withHarness({ ...FINE, cpuShare: 0.95 }), []);
  t.match(diagnosis[0] ?? '', /Harness saturated: the fleet process used 95 % of one core/);
});

t.test('no warning when the fleet kept up, nor when the figures are absent (older Results)', async (t) => {
  t.same(judged(withHarness(FINE), []).diagnosis, []);
  t.same(judged(withHarness(null), []).diagnosis, []);
});

t.test('harness.loopDelayMs.p99 < 50 parses and evaluates', async (t) => {
  const [parsed] = parseThresholds(['harness.loopDelayMs.p99 < 50']);
  t.equal(parsed!.metric.path, 'harness.loopDelayMs.p99');
  t.equal(parsed!.metric.unit, 'ms');
  const fine = judged(withHarness(FINE), ['harness.loopDelayMs.p99 < 50']);
  t.same(fine.results.map((x) => [x.metric, x.actual, x.pass]), [['harness.loopDelayMs.p99', 12.3, true]]);
  const lagging = judged(withHarness(LAGGING), ['harness.loopDelayMs.p99 < 50', 'harness.loopDelayMs.max < 1s', 'harness.cpuShare < 90%']);
  t.same(lagging.results.map((x) => [x.metric, x.actual, x.pass]), [
    ['harness.loopDelayMs.p99', 180, false],
    ['harness.loopDelayMs.max', 312, true],
    ['harness.cpuShare', 0.5, true],
  ]);
  t.equal(lagging.verdict.pass, false);
  t.match(lagging.verdict.reasons[0], /harness\.loopDelayMs\.p99 was 180 ms, expected < 50 ms/);
  const old = judged(withHarness(null), ['harness.loopDelayMs.p99 < 50']);
  t.equal(old.results[0]!.actual, null, 'a Result without the block: not measured');
  t.equal(old.verdict.pass, false);
});

t.test("check adds harness.loopDelayMs.p99 < 50 unless a harness threshold is stated", async (t) => {
  const s = (thresholds: string[]) => ({ thresholds }) as Pick<Scenario, 'thresholds'>;
  t.same(checkExtraThresholds(s([])), ['harness.loopDelayMs.p99 < 50']);
  t.same(checkExtraThresholds(s(['coverage.final >= 1']), ['pickupMs.p99 < 5s']), ['pickupMs.p99 < 5s', 'harness.loopDelayMs.p99 < 50']);
  t.same(checkExtraThresholds(s(['harness.loopDelayMs.p99 < 200']), []), [], "the scenario's own harness threshold stands");
  t.same(checkExtraThresholds(s([]), ['harness.cpuShare < 0.5']), ['harness.cpuShare < 0.5'], "the command line's stands");
});

t.test('the harness block is optional in a Result document, and read back when present', async (t) => {
  const base = { ...cleanRun(), diagnosis: [], thresholds: [], verdict: { pass: true, reasons: [] } };
  t.equal(resultSchema.safeParse(base).success, true, 'without the block (older documents)');
  const parsed = resultSchema.parse({ ...base, harness: harnessResult(LAGGING) });
  t.same(parsed.harness, harnessResult(LAGGING));
  t.equal(resultSchema.safeParse({ ...base, harness: { fleet: FINE } }).success, false, 'a partial block is refused');
});
