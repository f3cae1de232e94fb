import Table from 'cli-table3';
import { regressions as findRegressions, type Regression, type RegressionReason, type RunFigures } from '../verdict/history-regressions.js';
import { formatMs, formatPct, formatTimestamp, NOT_MEASURED } from '../core/format.js';

/**
 * The run history as text (`pollfleet history`). Pure: the stored runs and their
 * regressions in, text out; the history store (outputs/history-store.ts) reads the runs.
 */

/** The figures of a stored run the table shows (the history store's runs have them). */
export interface HistoryRow extends RunFigures {
  coverageFinal: number;
  expired: number | null;
  reconnects: number;
}

/** Plain-text table of runs, regressions marked with '!'. */
export function renderHistoryTable(runs: readonly HistoryRow[], options: { regressions?: ReadonlyArray<Regression> } = {}): string {
  if (runs.length === 0) return 'No runs recorded yet.\n';
  const flagged = new Set((options.regressions ?? findRegressions(runs)).map((r) => r.run.id));
  const table = new Table({
    head: ['#', 'Started', 'Scenario', 'Route', 'Verdict', 'Coverage min', 'Coverage final', 'Pickup p99', 'Expired', 'Reconnects', ''],
    style: { head: [], border: [] },
    colAligns: ['right', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'left'],
  });
  for (const r of runs) {
    table.push([
      String(r.id),
      formatTimestamp(r.startedAt),
      r.scenario,
      r.route,
      r.pass ? 'PASS' : 'FAIL',
      formatPct(r.coverageMin),
      formatPct(r.coverageFinal),
      formatMs(r.pickupP99),
      r.expired === null ? NOT_MEASURED : String(r.expired),
      String(r.reconnects),
      flagged.has(r.id) ? '! regression' : '',
    ]);
  }
  return `${table.toString()}\n`;
}

/**
 * What `pollfleet history` prints: the table, one line per regression with its reasons, and
 * a count line naming the store (`file`).
 */
export function renderHistory(view: { file: string; runs: readonly HistoryRow[]; regressions: ReadonlyArray<Regression> }): string {
  let text = renderHistoryTable(view.runs, { regressions: view.regressions });
  for (const r of view.regressions) {
    text += `! run ${r.run.id} (${r.run.scenario}, ${r.run.route}, ${formatTimestamp(r.run.startedAt)}): ${r.reasons.map(describeRegression).join('; ')}\n`;
  }
  if (view.runs.length > 0) {
    text += `${view.runs.length} run${view.runs.length === 1 ? '' : 's'}, ${view.regressions.length} regression${view.regressions.length === 1 ? '' : 's'} (${view.file})\n`;
  }
  return text;
}

/** One reason a run is a regression, in words (also what `pollfleet history --json` lists). */
export function describeRegression(reason: RegressionReason): string {
  switch (reason.kind) {
    case 'pickup':
      return `pickup p99 ${formatMs(reason.pickupP99)} is more than ${reason.factor}x the median of the previous ${reason.runs} runs (${formatMs(reason.baseline)})`;
    case 'coverage':
      return `coverage.min ${formatPct(reason.coverageMin)} dropped below the previous lowest ${formatPct(reason.lowest)}`;
    case 'verdict':
      return `the verdict turned from pass to fail (previous run ${formatTimestamp(reason.previousStartedAt)})`;
  }
}
