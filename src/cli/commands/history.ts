import { existsSync } from 'node:fs';
import { EXIT_CHECK_FAILED, EXIT_OK, PollfleetError } from '../../core/errors.js';
import { HistoryStore, type HistoryRun } from '../../outputs/history-store.js';
import { describeRegression, renderHistory } from '../../report/render-history.js';
import { regressions, type Regression } from '../../verdict/history-regressions.js';
import { CHECK_DEFAULTS } from '../../scenario/defaults.js';
import type { CliContext } from '../context.js';

/**
 * `pollfleet history`: the trend of recorded runs, oldest first, with regressions flagged.
 * Regressions are judged against every earlier run of the same scenario and route, also
 * those older than the --last window.
 */

export interface HistoryFlags {
  history?: string;
  scenario?: string;
  route?: string;
  last?: string;
  json?: boolean;
  failOnRegression?: boolean;
}

export interface HistoryView {
  file: string;
  runs: HistoryRun[];
  regressions: Array<Regression<HistoryRun>>;
}

function lastFlag(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new PollfleetError('input.invalid', `--last: expected a whole number >= 1, got ${JSON.stringify(v)}`);
  return n;
}

/** Read the runs to show and their regressions (pure read; the file must exist). */
export function readHistory(f: HistoryFlags): HistoryView {
  const last = lastFlag(f.last);
  const file = f.history ?? CHECK_DEFAULTS.historyFile;
  if (!existsSync(file)) {
    throw new PollfleetError('input.invalid', `--history ${file}: file not found`, {
      hint: '`pollfleet check <scenario>` (or `pollfleet run --history FILE`) records runs there',
    });
  }
  let store: HistoryStore;
  try {
    store = new HistoryStore(file);
  } catch (e) {
    throw new PollfleetError('input.invalid', `--history ${file}: not a pollfleet history store (${(e as Error).message})`);
  }
  try {
    const all = store.list({ ...(f.scenario !== undefined ? { scenario: f.scenario } : {}), ...(f.route !== undefined ? { route: f.route } : {}) });
    const runs = last === undefined ? all : all.slice(-last);
    const shown = new Set(runs.map((r) => r.id));
    return { file, runs, regressions: regressions(all).filter((r) => shown.has(r.run.id)) };
  } finally {
    store.close();
  }
}

export function historyCommand(ctx: CliContext, f: HistoryFlags): number {
  const view = readHistory(f);
  if (f.json) {
    ctx.stdout.write(
      JSON.stringify({ file: view.file, runs: view.runs, regressions: view.regressions.map((r) => ({ runId: r.run.id, startedAt: r.run.startedAt, reasons: r.reasons.map(describeRegression) })) }) + '\n',
    );
  } else {
    ctx.stdout.write(renderHistory(view));
  }
  return f.failOnRegression && view.regressions.length > 0 ? EXIT_CHECK_FAILED : EXIT_OK;
}
