import t from 'tap';
import { parseThreshold, parseThresholds, validateThresholds, ThresholdError } from '../../src/verdict/threshold-parser.js';
import { PollfleetError } from '../../src/core/errors.js';

t.test('parses metric, operator and value for every operator', async (t) => {
  for (const op of ['<', '<=', '>', '>=', '==', '!='] as const) {
    const p = parseThreshold(`pickupMs.p99 ${op} 5000`);
    t.equal(p.op, op, op);
    t.same(p.value, { kind: 'number', value: 5000 });
    t.equal(p.metric.path, 'pickupMs.p99');
    t.equal(p.metric.unit, 'ms');
  }
  t.equal(parseThreshold('pickupMs.p99<5000').op, '<', 'no spaces needed');
  t.equal(parseThreshold('  reconnects <= 3  ').expression, 'reconnects <= 3', 'trimmed');
});

t.test('values: units, references, null, history', async (t) => {
  t.same(parseThreshold('pickupMs.p99 < 5s').value, { kind: 'number', value: 5000 });
  t.same(parseThreshold('pickupMs.p99 < 2min').value, { kind: 'number', value: 120000 });
  t.same(parseThreshold('pickupMs.p99 < 250ms').value, { kind: 'number', value: 250 });
  t.same(parseThreshold('coverage.min >= 99.5%').value, { kind: 'number', value: 0.995 });
  t.same(parseThreshold('nodes.*.connectedTentacles == fleet').value, { kind: 'fleet', factor: 1 });
  t.same(parseThreshold('nodes.node1.polledBy >= 0.5 x fleet').value, { kind: 'fleet', factor: 0.5 });
  t.same(parseThreshold('nodesNeverPolled < nodes').value, { kind: 'nodes', factor: 1 });
  t.same(parseThreshold('faults.*.timeToFullCoverageMs != null').value, { kind: 'null' });
  t.same(parseThreshold('pickupMs.p99 < 2 x median(last 10)').value, { kind: 'history', factor: 2, aggregate: 'median', last: 10 });
  t.same(parseThreshold('reconnects <= max(last 5)').value, { kind: 'history', factor: 1, aggregate: 'max', last: 5 });
});

t.test('scoped metrics: nodes and faults, names with dots and @', async (t) => {
  const n = parseThreshold('nodes.*.pickupMs.p99 < 5000').metric;
  t.match(n, { scope: 'node', name: '*', field: 'pickupMs.p99', unit: 'ms' });
  const f = parseThreshold('faults.latency@127.0.0.1:10943.recoveryMs.p99 < 30000').metric;
  t.match(f, { scope: 'fault', name: 'latency@127.0.0.1:10943', field: 'recoveryMs.p99' });
  t.match(parseThreshold('errors.tls.handshake-failed == 0').metric, { scope: 'run', path: 'errors.tls.handshake-failed' });
  t.match(parseThreshold('handshakeMs.tls.p99 < 100').metric, { scope: 'run', unit: 'ms' });
});

t.test('bad expressions get clear messages quoting the input', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /is empty: expected '<metric> <op> <value>'/],
    ['pickupMs.p99 5000', /threshold 'pickupMs\.p99 5000' has no comparison operator: expected .*< <= > >= == !=|one of/],
    ['pickupMs.p99 = 5000', /use == for equality/],
    ['< 5000', /has no metric before '<'/],
    ['pickupMs.p99 <', /has no value after '<'/],
    ['pickupMs.p99 <> 5', /malformed operator/],
    ['pickupMs.p99 < abc', /'abc' is not a value: expected a number/],
    ['pickupMs.p99 < 5 parsecs', /unknown unit or reference/],
    ['reconnects < 5s', /unit 's' only applies to durations/],
    ['pickupMs.p99 < 50%', /'%' only applies to coverage ratios/],
    ['pickupMs.p99 < null', /null can only be compared with == or !=/],
    ['pickupMs.p99 < median(last 0)', /out of range/],
    ['pickup ms < 5', /is not a metric name/],
    ['coverage.* >= 1', /unknown metric|only stands for a node or fault/],
  ];
  for (const [input, message] of cases) {
    const e = t.throws(() => parseThreshold(input), ThresholdError, input) as unknown;
    t.ok(e instanceof PollfleetError && e.kind === 'input.invalid', `${input}: kind input.invalid`);
    t.match((e as Error).message, message, input);
    if (input !== '') t.match((e as Error).message, `'${input}'`, `${input}: quotes the input`);
  }
});

t.test('unknown metric names suggest close valid names', async (t) => {
  t.throws(() => parseThreshold('pickupMs.p98 < 5000'), { message: /unknown metric 'pickupMs\.p98'; did you mean .*pickupMs\.p99/ });
  t.throws(() => parseThreshold('coverage.minn >= 1'), { message: /did you mean coverage\.min/ });
  t.throws(() => parseThreshold('nodes.node2.conectedTentacles == fleet'), { message: /did you mean nodes\.node2\.connectedTentacles/ });
  t.throws(() => parseThreshold('faults.*.recoverMs.p99 < 1'), { message: /did you mean faults\.\*\.recoveryMs\.p99/ });
  t.throws(() => parseThreshold('zzzzzz < 1'), { message: /unknown metric 'zzzzzz'; known metrics include coverage\.final/ });
});

t.test('validateThresholds returns every problem at once; parseThresholds throws them together', async (t) => {
  const list = ['pickupMs.p99 < 5000', 'pickupMs.p98 < 5000', 'coverage.min 1', 42, 'requests.expired == 0'];
  const problems = validateThresholds(list);
  t.equal(problems.length, 3);
  t.match(problems[0], /^thresholds\[1\]: .*unknown metric/);
  t.match(problems[1], /^thresholds\[2\]: .*no comparison operator/);
  t.match(problems[2], /^thresholds\[3\]: expected a string/);
  t.same(validateThresholds(['coverage.min >= 100%', 'nodes.*.polledBy == fleet']), []);
  const e = t.throws(() => parseThresholds(['a < 1', 'coverage.min >= 1', 'b > 2'])) as ThresholdError;
  t.equal(e.problems.length, 2);
  t.match(e.message, /thresholds\[0\].*\n.*thresholds\[2\]/s);
  t.equal(parseThresholds(['coverage.min >= 1', 'reconnects < 10']).length, 2);
});
