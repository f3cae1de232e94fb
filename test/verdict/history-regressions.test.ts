import t from 'tap';
import { regressions, type RunFigures } from '../../src/verdict/history-regressions.js';

let nextId = 1;
function run(minute: number, o: Partial<RunFigures> = {}): RunFigures {
  return { id: nextId++, scenario: 'nightly', route: 'direct', startedAt: `2025-05-01T10:${String(minute).padStart(2, '0')}:00.000Z`, pass: true, coverageMin: 1, pickupP99: 50, ...o };
}

t.test('pickup p99 above 2x the median of the previous (up to 10) runs', async (t) => {
  const runs = [run(0, { pickupP99: 40 }), run(1, { pickupP99: 60 }), run(2, { pickupP99: 100 }), run(3, { pickupP99: 121 }), run(4, { pickupP99: null })];
  const found = regressions(runs);
  t.same(found.map((r) => r.run.startedAt.slice(14, 16)), ['03'], '100 is not above 2 x median(40, 60) = 100; 121 is above 2 x median(40, 60, 100) = 120');
  t.same(regressions([...runs.slice(0, 2), run(5, { pickupP99: 101 })])[0]!.reasons, [{ kind: 'pickup', pickupP99: 101, factor: 2, baseline: 50, runs: 2 }]);
  const eleven = [...Array.from({ length: 10 }, (_, i) => run(10 + i, { pickupP99: 10 })), run(30, { pickupP99: 1000 })];
  t.same(regressions([run(9, { pickupP99: 10_000 }), ...eleven]).at(-1)!.reasons, [{ kind: 'pickup', pickupP99: 1000, factor: 2, baseline: 10, runs: 10 }], 'only the last 10 previous runs count');
  t.same(regressions([run(0, { pickupP99: null }), run(1, { pickupP99: 500 })]), [], 'no previous pickup: no baseline');
});

t.test('coverage below every previous run, and a verdict turning from pass to fail', async (t) => {
  const found = regressions([run(0, { coverageMin: 0.9 }), run(1), run(2, { coverageMin: 0.8, pass: false }), run(3, { pass: false, coverageMin: 0.85 })]);
  t.same(found.map((r) => r.reasons), [[
    { kind: 'coverage', coverageMin: 0.8, lowest: 0.9 },
    { kind: 'verdict', previousStartedAt: '2025-05-01T10:01:00.000Z' },
  ]], 'the 4th run: coverage above the lowest, and it did not turn (the run before it already failed)');
});

t.test('each scenario and route is its own series; the first run of a series is never a regression', async (t) => {
  const found = regressions([run(0), run(1, { route: 'alb', pass: false, coverageMin: 0, pickupP99: 9999 }), run(2, { scenario: 'other', pass: false })]);
  t.same(found, []);
});
