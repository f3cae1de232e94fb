import t from 'tap';
import type { MeasuredResult, Result } from '../../src/result/result.js';
import type { Scenario } from '../../src/scenario/resolve.js';
import { historyOptions, type HistoryMetric, type HistorySource } from '../../src/verdict/history-thresholds.js';
import { judge, thresholdsFor } from '../../src/verdict/judge.js';
import { parseThresholds } from '../../src/verdict/threshold-parser.js';
import { loadResult, type ResultFixture } from '../helpers/report-fixtures.js';

/** The judge reads only these fields of a Scenario. */
function scenario(o: { thresholds?: string[]; queue?: 'per-node' | 'shared'; target?: 'embedded' | 'external' } = {}): Scenario {
  return { thresholds: o.thresholds ?? [], cluster: { queue: o.queue ?? 'per-node' }, target: o.target ?? 'embedded' } as unknown as Scenario;
}

/** A fixture as the run returns it: measured, not judged. */
function measured(name: ResultFixture): MeasuredResult {
  const { thresholds: _t, verdict: _v, diagnosis: _d, ...plain } = loadResult(name);
  return plain;
}

const uniqueExpressions = (r: Result) => [...new Set(r.thresholds.map((x) => x.expression))];

// The default thresholds themselves: default-thresholds.test.ts.

t.test('judging a measured fixture with its own thresholds gives its hand-checked verdict', async (t) => {
  for (const name of ['result-pass-direct', 'result-fail-single-address', 'result-fault'] as ResultFixture[]) {
    const judged = loadResult(name);
    const r = judge(measured(name), scenario({ thresholds: uniqueExpressions(judged) }));
    t.same(r.thresholds, judged.thresholds, `${name}: thresholds`);
    t.same(r.verdict, judged.verdict, `${name}: verdict`);
    t.ok(Array.isArray(r.diagnosis), `${name}: diagnosed`);
  }
});

t.test('the defaults judge a run whose scenario states none', async (t) => {
  const fail = judge(measured('result-fail-single-address'), scenario());
  t.same(fail.thresholds.map((x) => [x.expression, x.pass]), [['coverage.final >= 1', false], ['requests.expired == 0', false], ['nodesNeverPolled == 0', false]]);
  t.equal(fail.verdict.pass, false);
  t.equal(judge(measured('result-pass-direct'), scenario()).verdict.pass, true);
});

t.test('a stale verdict on the input is ignored: the run is judged afresh', async (t) => {
  const stale = { ...loadResult('result-fail-single-address'), verdict: { pass: true, reasons: [] }, thresholds: [] };
  t.equal(judge(stale, scenario()).verdict.pass, false);
});

t.test('history references read previous runs from a HistorySource, as many as the largest window', async (t) => {
  const asked: Array<[string, string, HistoryMetric, number]> = [];
  /** Previous pickup p99 values as given; every previous coverage.min 0.9. */
  const source = (pickups: number[]): HistorySource => ({
    values: (name, route, metric, last) => {
      asked.push([name, route, metric, last]);
      return (metric === 'pickupMs.p99' ? pickups : pickups.map(() => 0.9)).slice(-last);
    },
  });
  const m = measured('result-pass-direct'); // pickup p99 58 ms
  const s = scenario({ thresholds: ['pickupMs.p99 < 2 x median(last 3)', 'coverage.min >= min(last 5)'] });
  const options = (src: HistorySource | null) => historyOptions(src, m.name, m.route, parseThresholds(thresholdsFor(s)));

  const pass = judge(m, s, [], options(source([100, 20, 30, 40]))); // last 3: median(20, 30, 40) = 30 -> 58 < 60
  t.same(pass.thresholds.map((x) => x.pass), [true, true]);
  t.same(asked, [[m.name, m.route, 'pickupMs.p99', 5], [m.name, m.route, 'coverage.min', 5]], 'scenario and route of the run, window 5');

  asked.length = 0;
  const fail = judge(m, s, [], options(source([10, 20, 28])));
  t.same(fail.thresholds.map((x) => x.pass), [false, true], '58 is not below 2 x 20');
  t.equal(fail.verdict.pass, false);

  t.same(options(null), {}, 'no source: nothing to look up');
  t.same(historyOptions(source([1]), m.name, m.route, parseThresholds(['coverage.min >= 1'])), {}, 'no history reference: nothing to look up');
  const none = judge(m, s, [], options(null));
  t.same(none.thresholds.map((x) => x.pass), [true, true], 'without history, a history reference passes');
});
