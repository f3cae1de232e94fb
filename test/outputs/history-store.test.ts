import t from 'tap';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { HistoryStore } from '../../src/outputs/history-store.js';
import { describeRegression, renderHistoryTable } from '../../src/report/render-history.js';
import { regressions } from '../../src/verdict/history-regressions.js';
import { loadResult } from '../helpers/report-fixtures.js';
import type { Result } from '../../src/result/result.js';
import type { Scenario } from '../../src/scenario/resolve.js';
import { historyOptions } from '../../src/verdict/history-thresholds.js';
import { judge } from '../../src/verdict/judge.js';
import { parseThresholds } from '../../src/verdict/threshold-parser.js';

function run(base: Result, startedAt: string, patch: (r: Result) => void = () => {}): Result {
  const r = structuredClone(base);
  r.startedAt = startedAt;
  patch(r);
  return r;
}

t.test('append runs, list them oldest first, flag regressions', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'nested', 'history.db');
  const store = new HistoryStore(file);
  t.teardown(() => store.close());
  t.ok(existsSync(file), 'creates the file and its folder');

  const pass = loadResult('result-pass-direct'); // pickup p99 58 ms, coverage.min 1
  // Appended out of time order on purpose: list() orders by start time.
  const ids = [
    store.append(run(pass, '2025-05-01T10:02:00.000Z', (r) => (r.summary.pickupMs!.p99 = 62)), 'reports/3/result.json'),
    store.append(run(pass, '2025-05-01T10:00:00.000Z'), 'reports/1/result.json'),
    store.append(run(pass, '2025-05-01T10:01:00.000Z', (r) => (r.summary.pickupMs!.p99 = 50))),
    // 4th: pickup p99 jumps to 500 ms (> 2 x median 58)
    store.append(run(pass, '2025-05-01T10:03:00.000Z', (r) => (r.summary.pickupMs!.p99 = 500))),
  ];
  // 5th: the single-address failure under the same scenario name: coverage drops and verdict flips.
  const fail = loadResult('result-fail-single-address');
  fail.name = pass.name;
  fail.route = pass.route;
  fail.startedAt = '2025-05-01T10:04:00.000Z';
  ids.push(store.append(fail));
  // Another scenario, not part of the same series.
  store.append(run(loadResult('result-fault'), '2025-05-01T09:00:00.000Z'));

  const all = store.list({ scenario: pass.name });
  t.equal(all.length, 5);
  t.same(all.map((r) => r.startedAt.slice(11, 16)), ['10:00', '10:01', '10:02', '10:03', '10:04'], 'oldest -> newest');
  t.same(all.map((r) => r.pickupP99), [58, 50, 62, 500, 70]);
  t.same(all.map((r) => r.pass), [true, true, true, true, false]);
  t.equal(all[0]!.resultPath, 'reports/1/result.json');
  t.equal(all[4]!.expired, 24);
  t.equal(store.list().length, 6, 'all scenarios');
  t.same(store.list({ scenario: pass.name, last: 2 }).map((r) => r.startedAt.slice(11, 16)), ['10:03', '10:04'], 'last N, still oldest first');
  t.throws(() => store.list({ last: 0 }), /last must be a whole number/);

  const nodes = store.nodeRuns(ids[4]!);
  t.same(nodes.map((n) => [n.node, n.connected, n.expired, n.pickupP99]), [['node1', 6, 0, 70], ['node2', 0, 12, null], ['node3', 0, 12, null]]);
  t.same(store.values(pass.name, pass.route, 'pickupMs.p99', 3), [62, 500, 70], 'as a HistorySource');
  t.same(store.values(pass.name, pass.route, 'coverage.min', 10), [1, 1, 1, 1, 1 / 3], 'every metric a history reference may use has its column');
  t.same(store.values(pass.name, 'alb', 'reconnects', 10), [], 'another route: no history');

  const flagged = regressions(all);
  t.same(flagged.map((f) => f.run.startedAt.slice(11, 16)), ['10:03', '10:04']);
  t.match(describeRegression(flagged[0]!.reasons[0]!), /pickup p99 500 ms is more than 2x the median of the previous 3 runs \(58 ms\)/);
  t.equal(flagged[1]!.reasons.length, 2);
  t.match(describeRegression(flagged[1]!.reasons[0]!), /coverage\.min 33\.3 % dropped below the previous lowest 100 %/);
  t.match(describeRegression(flagged[1]!.reasons[1]!), /verdict turned from pass to fail/);

  const table = renderHistoryTable(all);
  t.match(table, /Pickup p99/);
  t.equal(table.split('\n').filter((l) => l.includes('! regression')).length, 2, 'two rows marked');
  t.match(table, /FAIL/);
  t.match(table, /500 ms/);
  t.equal(renderHistoryTable([]), 'No runs recorded yet.\n');
});

t.test('WAL mode and re-opening keeps the runs', async (t) => {
  const file = join(t.testdir(), 'h.db');
  const a = new HistoryStore(file);
  a.append(loadResult('result-pass-direct'));
  t.ok(existsSync(`${file}-wal`), 'write-ahead log in use while open');
  a.close();
  const b = new HistoryStore(file);
  t.teardown(() => b.close());
  t.equal(b.list().length, 1);
});

t.test('the store feeds history thresholds: the judge reads it as a HistorySource', async (t) => {
  const store = new HistoryStore(':memory:');
  t.teardown(() => store.close());
  const base = loadResult('result-pass-direct'); // pickup p99 58 ms
  const { thresholds: _t, verdict: _v, diagnosis: _d, ...measured } = base;
  const s = { thresholds: ['pickupMs.p99 < 2 x median(last 3)'], cluster: { queue: 'per-node' }, target: 'embedded' } as unknown as Scenario;
  const passes = () => judge(measured, s, [], historyOptions(store, base.name, base.route, parseThresholds(s.thresholds))).verdict.pass;
  const add = (minute: number, p99: number) => store.append(run(base, `2025-05-01T09:0${minute}:00.000Z`, (r) => (r.summary.pickupMs!.p99 = p99)));
  t.equal(passes(), true, 'no history yet: a history reference passes');
  add(0, 20); add(1, 25); add(2, 30);
  t.equal(passes(), false, '58 is not below 2 x median(20, 25, 30) = 50');
  add(3, 40); add(4, 35);
  t.equal(passes(), true, 'only the last 3 count: 58 < 2 x median(30, 40, 35) = 70');
});
