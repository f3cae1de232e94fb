import t from 'tap';
import { describeRegression, renderHistory, renderHistoryTable, type HistoryRow } from '../../src/report/render-history.js';
import { regressions } from '../../src/verdict/history-regressions.js';

const row = (id: number, minute: number, o: Partial<HistoryRow> = {}): HistoryRow => ({
  id, scenario: 'nightly', route: 'direct', startedAt: `2025-05-01T10:0${minute}:00.000Z`, pass: true,
  coverageMin: 1, coverageFinal: 1, pickupP99: 50, expired: 0, reconnects: 0, ...o,
});

t.test('the reasons in words', async (t) => {
  t.equal(describeRegression({ kind: 'pickup', pickupP99: 500, factor: 2, baseline: 58, runs: 3 }), 'pickup p99 500 ms is more than 2x the median of the previous 3 runs (58 ms)');
  t.equal(describeRegression({ kind: 'coverage', coverageMin: 1 / 3, lowest: 1 }), 'coverage.min 33.3 % dropped below the previous lowest 100 %');
  t.equal(describeRegression({ kind: 'verdict', previousStartedAt: '2025-05-01T10:03:00.000Z' }), 'the verdict turned from pass to fail (previous run 2025-05-01 10:03:00 UTC)');
});

t.test('the table marks regressions; the whole text adds a line per regression and a count', async (t) => {
  const runs = [row(1, 0), row(2, 1, { pickupP99: 500, expired: null }), row(3, 2, { pass: false })];
  const table = renderHistoryTable(runs);
  t.equal(table.split('\n').filter((l) => l.includes('! regression')).length, 2);
  t.match(table, /│ +2 │ 2025-05-01 10:01:00 UTC │ nightly +│ direct +│ PASS +│ +100 % │ +100 % │ +500 ms │ +— │ +0 │ ! regression │/);
  const text = renderHistory({ file: 'h.sqlite', runs, regressions: regressions(runs) });
  t.ok(text.startsWith(table), 'the table first');
  t.equal(text.slice(table.length), [
    '! run 2 (nightly, direct, 2025-05-01 10:01:00 UTC): pickup p99 500 ms is more than 2x the median of the previous 1 runs (50 ms)',
    '! run 3 (nightly, direct, 2025-05-01 10:02:00 UTC): the verdict turned from pass to fail (previous run 2025-05-01 10:01:00 UTC)',
    '3 runs, 2 regressions (h.sqlite)',
    '',
  ].join('\n'));
  t.equal(renderHistory({ file: 'h.sqlite', runs: [], regressions: [] }), 'No runs recorded yet.\n', 'no count line without runs');
  t.match(renderHistory({ file: 'h.sqlite', runs: [row(1, 0)], regressions: [] }), /\n1 run, 0 regressions \(h\.sqlite\)\n$/);
});
