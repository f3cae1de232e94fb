import t from 'tap';
import { computeVerdict, describeFailure, evaluateThresholds } from '../../src/verdict/evaluate.js';
import { parseThresholds } from '../../src/verdict/threshold-parser.js';
import { loadResult, type ResultFixture } from '../helpers/report-fixtures.js';

t.test('re-evaluating each fixture gives its hand-checked thresholds and verdict', async (t) => {
  for (const name of ['result-pass-direct', 'result-fail-single-address', 'result-fault'] as ResultFixture[]) {
    const r = loadResult(name);
    const expressions = [...new Set(r.thresholds.map((x) => x.expression))];
    const results = evaluateThresholds(r, parseThresholds(expressions));
    t.same(results, r.thresholds, `${name}: thresholds`);
    t.same(computeVerdict(r, results), r.verdict, `${name}: verdict`);
  }
});

t.test('each operator passes and fails', async (t) => {
  const r = loadResult('result-pass-direct'); // reconnects 0, pickupMs.p99 58
  const cases: Array<[string, boolean]> = [
    ['pickupMs.p99 < 59', true], ['pickupMs.p99 < 58', false],
    ['pickupMs.p99 <= 58', true], ['pickupMs.p99 <= 57', false],
    ['pickupMs.p99 > 57', true], ['pickupMs.p99 > 58', false],
    ['pickupMs.p99 >= 58', true], ['pickupMs.p99 >= 59', false],
    ['reconnects == 0', true], ['reconnects == 1', false],
    ['reconnects != 1', true], ['reconnects != 0', false],
    ['coverage.final >= 100%', true], ['coverage.final < 100%', false],
    ['nodes.node1.polledBy == fleet', true], ['nodes.node1.polledBy > 0.5 x fleet', true], ['nodes.node1.polledBy > fleet', false],
    ['nodesNeverPolled < nodes', true], ['errors.total == 0', true], ['errors.tls.handshake-failed > 0', false],
  ];
  for (const [expr, pass] of cases) {
    const [res] = evaluateThresholds(r, parseThresholds([expr]));
    t.equal(res!.pass, pass, `${expr} -> ${pass ? 'pass' : 'fail'} (actual ${res!.actual})`);
  }
});

t.test('* expands to one result per node / fault; names select one', async (t) => {
  const r = loadResult('result-fail-single-address');
  const res = evaluateThresholds(r, parseThresholds(['nodes.*.polledBy >= 1']));
  t.same(res.map((x) => [x.metric, x.actual, x.pass]), [
    ['nodes.node1.polledBy', 6, true], ['nodes.node2.polledBy', 0, false], ['nodes.node3.polledBy', 0, false],
  ]);
  const one = evaluateThresholds(r, parseThresholds(['nodes.node3.requests.expired == 0']));
  t.same(one.map((x) => [x.metric, x.actual, x.pass]), [['nodes.node3.requests.expired', 12, false]]);
  const f = loadResult('result-fault');
  const faults = evaluateThresholds(f, parseThresholds(['faults.*.detectionMs.p99 < 1s', 'faults.crash@node2.affectedPairs == 6']));
  t.same(faults.map((x) => [x.metric, x.actual, x.pass]), [
    ['faults.crash@node2.detectionMs.p99', 8, true], ['faults.crash@node2.affectedPairs', 6, true],
  ]);
});

t.test('not measured fails, unless the threshold asks about null', async (t) => {
  const r = loadResult('result-fail-single-address'); // node2 pickup quantiles are null
  const [p99] = evaluateThresholds(r, parseThresholds(['nodes.node2.pickupMs.p99 < 5000']));
  t.equal(p99!.actual, null);
  t.equal(p99!.pass, false);
  t.match(describeFailure(p99!), /nodes\.node2\.pickupMs\.p99 was not measured \(expected < 5 s\)/);
  const [isNull] = evaluateThresholds(r, parseThresholds(['nodes.node2.pickupMs.p99 == null']));
  t.equal(isNull!.pass, true);
  const [notNull] = evaluateThresholds(r, parseThresholds(['nodes.node2.pickupMs.p99 != null']));
  t.equal(notNull!.pass, false);
  const [missing] = evaluateThresholds(r, parseThresholds(['nodes.node9.polledBy >= 1']));
  t.same([missing!.metric, missing!.actual, missing!.pass], ['nodes.node9.polledBy', null, false], 'absent node: not measured');
  const [noFaults] = evaluateThresholds(r, parseThresholds(['faults.*.recoveryMs.p99 < 30s']));
  t.equal(noFaults!.pass, false);
  t.match(noFaults!.expected, /no faults in this run/);
});

t.test('history references use previous values of the same metric', async (t) => {
  const r = loadResult('result-pass-direct'); // pickupMs.p99 = 58
  const seen: string[] = [];
  const history = (metric: string) => {
    seen.push(metric);
    return [100, 20, 25, 30, 35];
  };
  const [last3] = evaluateThresholds(r, parseThresholds(['pickupMs.p99 < 2 x median(last 3)']), { history });
  t.equal(last3!.pass, true, '58 < 2 x 30');
  t.match(last3!.expected, /< 60 ms \(2 x median\(last 3\) of 3 previous\)/);
  const [tight] = evaluateThresholds(r, parseThresholds(['pickupMs.p99 < max(last 2)']), { history });
  t.equal(tight!.pass, false, '58 is not < 35');
  t.same(seen, ['pickupMs.p99', 'pickupMs.p99']);
  const [none] = evaluateThresholds(r, parseThresholds(['pickupMs.p99 < 2 x median(last 10)']));
  t.equal(none!.pass, true, 'no history yet: nothing to regress against');
  t.match(none!.expected, /no previous runs yet/);
});

t.test('verdict: interrupted runs and failed faults fail with reasons', async (t) => {
  const r = loadResult('result-fault');
  r.interrupted = true;
  r.durationMs = 12_400;
  r.faults[0]!.pass = false;
  r.faults[0]!.reasons = ['coverage did not return to 100 % within the run'];
  const v = computeVerdict(r, []);
  t.equal(v.pass, false);
  t.same(v.reasons, [
    'the run was interrupted at 0:12; only what ran was measured',
    'fault crash@node2 failed: coverage did not return to 100 % within the run',
  ]);
});
