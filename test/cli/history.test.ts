import t from 'tap';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { historyCommand, type HistoryFlags } from '../../src/cli/commands/history.js';
import type { CliContext } from '../../src/cli/context.js';
import { PollfleetError, exitCodeFor } from '../../src/core/errors.js';
import { HistoryStore } from '../../src/outputs/history-store.js';
import { spawnCli } from '../helpers/run.js';
import { craftedResult } from '../helpers/scheduled-check.js';

// `pollfleet history` over a store of crafted runs: order, filters, regressions, exit codes.
const QUICK_MS = 20_000;

/** nightly/direct: pickup p99 50, 52, 48, 51, then 200 (a regression: > 2 x median 50.5), then 49. */
const NIGHTLY = [
  { at: '2025-03-01T03:00:00.000Z', p99: 50 },
  { at: '2025-03-01T03:15:00.000Z', p99: 52 },
  { at: '2025-03-01T03:30:00.000Z', p99: 48 },
  { at: '2025-03-01T03:45:00.000Z', p99: 51 },
  { at: '2025-03-01T04:00:00.000Z', p99: 200 },
  { at: '2025-03-01T04:15:00.000Z', p99: 49 },
];

function seed(file: string): void {
  const store = new HistoryStore(file);
  try {
    // Appended out of order: the history is ordered by start time, not by insertion.
    for (const i of [2, 0, 1, 3, 5, 4]) store.append(craftedResult({ startedAt: NIGHTLY[i]!.at, pickupP99: NIGHTLY[i]!.p99 }), `/reports/nightly-${i}/result.json`);
    store.append(craftedResult({ name: 'alb-check', route: 'alb', startedAt: '2025-03-01T03:05:00.000Z', pickupP99: 30 }));
    store.append(craftedResult({ name: 'alb-check', route: 'alb', startedAt: '2025-03-01T03:20:00.000Z', pickupP99: 31, pass: false, coverageMin: 0.5 }));
  } finally {
    store.close();
  }
}

function fakeContext(): { ctx: CliContext; out: () => string } {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (d: Buffer) => (text += d.toString()));
  const ctx = { stdout, stderr: new PassThrough(), isTTY: false, color: false, version: 'test' } as unknown as CliContext;
  return { ctx, out: () => text };
}

function history(f: HistoryFlags): { code: number; out: string } {
  const { ctx, out } = fakeContext();
  const code = historyCommand(ctx, f);
  return { code, out: out() };
}

t.test('the trend table: every run oldest first, regressions flagged with the reason, exit 0', async (t) => {
  const file = join(t.testdir(), 'h.sqlite');
  seed(file);
  const { code, out } = history({ history: file });
  t.equal(code, 0, 'regressions alone do not fail the command');
  const rows = out.split('\n').filter((l) => /^│ +\d+ │/.test(l));
  t.equal(rows.length, 8, 'one row per run');
  const times = rows.map((r) => /2025-03-01 (\d\d:\d\d):00 UTC/.exec(r)?.[1]);
  t.same(times, ['03:00', '03:05', '03:15', '03:20', '03:30', '03:45', '04:00', '04:15'], 'oldest -> newest');
  for (const header of ['Started', 'Scenario', 'Route', 'Verdict', 'Coverage min', 'Coverage final', 'Pickup p99', 'Expired', 'Reconnects']) t.match(out, header);
  const flagged = rows.filter((r) => r.includes('! regression'));
  t.equal(flagged.length, 2, 'two regressions');
  t.match(flagged[0], /03:20:00 UTC.*alb-check.*alb.*FAIL.*50 %/);
  t.match(flagged[1], /04:00:00 UTC.*nightly.*direct.*PASS.*200 ms/);
  t.match(out, /! run \d+ \(nightly, direct, 2025-03-01 04:00:00 UTC\): pickup p99 200 ms is more than 2x the median of the previous 4 runs \(50\.5 ms\)/);
  t.match(out, /! run \d+ \(alb-check, alb, .*\): coverage\.min 50 % dropped below the previous lowest 100 %; the verdict turned from pass to fail/);
  t.match(out, /8 runs, 2 regressions/);
});

t.test('filters, --last and --fail-on-regression', async (t) => {
  const file = join(t.testdir(), 'h.sqlite');
  seed(file);

  const nightly = history({ history: file, scenario: 'nightly' });
  t.notMatch(nightly.out, 'alb-check', '--scenario keeps one scenario');
  t.match(nightly.out, /6 runs, 1 regression\b/);
  t.match(history({ history: file, route: 'alb' }).out, /2 runs, 1 regression\b/, '--route');

  // The newest run is fine, the one before it regressed (judged against runs outside the window).
  const newest = history({ history: file, scenario: 'nightly', last: '1', failOnRegression: true });
  t.equal(newest.code, 0, '--last 1: the newest run did not regress');
  t.match(newest.out, /1 run, 0 regressions/);
  const two = history({ history: file, scenario: 'nightly', last: '2', failOnRegression: true });
  t.equal(two.code, 1, '--last 2 includes the regression: exit 1');
  t.match(two.out, /04:00:00 UTC.*! regression/);
  t.match(two.out, /previous 4 runs/, 'baseline from runs older than the window');
  t.equal(history({ history: file, failOnRegression: true }).code, 1);
  t.equal(history({ history: file, scenario: 'nosuch' }).out, 'No runs recorded yet.\n');
});

t.test('--json: runs oldest first and the regressions with their reasons', async (t) => {
  const file = join(t.testdir(), 'h.sqlite');
  seed(file);
  const { code, out } = history({ history: file, scenario: 'nightly', json: true });
  t.equal(code, 0);
  const doc = JSON.parse(out) as { file: string; runs: Array<{ id: number; startedAt: string; pickupP99: number; resultPath: string }>; regressions: Array<{ runId: number; reasons: string[] }> };
  t.equal(doc.file, file);
  t.same(doc.runs.map((r) => r.pickupP99), NIGHTLY.map((n) => n.p99), 'ordered by start time');
  t.same(doc.runs.map((r) => r.startedAt), NIGHTLY.map((n) => n.at));
  t.equal(doc.regressions.length, 1);
  t.equal(doc.regressions[0]!.runId, doc.runs[4]!.id);
  t.match(doc.regressions[0]!.reasons[0], /pickup p99 200 ms/);
  t.equal(doc.runs[4]!.resultPath, '/reports/nightly-4/result.json');
});

t.test('bad input: exit 2 with a clear message', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'h.sqlite');
  seed(file);
  const cases: Array<{ name: string; flags: HistoryFlags; message: RegExp }> = [
    { name: 'missing file', flags: { history: join(dir, 'none.sqlite') }, message: /none\.sqlite: file not found/ },
    { name: '--last 0', flags: { history: file, last: '0' }, message: /--last: expected a whole number >= 1, got "0"/ },
    { name: '--last many', flags: { history: file, last: 'many' }, message: /--last: expected a whole number/ },
  ];
  for (const c of cases) {
    const e = (() => {
      try {
        history(c.flags);
        return null;
      } catch (x) {
        return x;
      }
    })();
    t.ok(e instanceof PollfleetError, `${c.name}: a PollfleetError`);
    t.equal(exitCodeFor((e as PollfleetError).kind), 2, `${c.name}: exit 2`);
    t.match((e as Error).message, c.message, `${c.name}: message`);
  }
});

t.test('through the CLI: exit 1 on a regression with --fail-on-regression, 2 for a missing store', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'h.sqlite');
  seed(file);
  const failing = spawnCli(['history', '--history', file, '--fail-on-regression']);
  const missing = spawnCli(['history', '--history', join(dir, 'none.sqlite')]);
  const [f, m] = await Promise.all([failing.exited(QUICK_MS), missing.exited(QUICK_MS)]);
  t.equal(f.code, 1, `exit 1 (stderr: ${failing.stderr()})`);
  t.match(failing.stdout(), /! regression/);
  t.equal(m.code, 2);
  t.match(missing.stderr(), /none\.sqlite: file not found[\s\S]*hint: `pollfleet check <scenario>`/);
  t.notMatch(missing.stderr(), '    at ');
});
