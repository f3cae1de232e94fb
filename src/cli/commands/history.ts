import { existsSync } from 'node:fs';
import { EXIT_CHECK_FAILED, EXIT_OK, PollfleetError } from '../../core/errors.js';
import { HistoryStore, regressions, renderHistoryTable, type HistoryRun, type Regression } from '../../outputs/history-store.js';
import { formatTimestamp } from '../../core/format.js';
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
  regressions: Regression[];
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
      JSON.stringify({ file: view.file, runs: view.runs, regressions: view.regressions.map((r) => ({ runId: r.run.id, startedAt: r.run.startedAt, reasons: r.reasons })) }) + '\n',
    );
  } else {
    ctx.stdout.write(renderHistoryTable(view.runs, { regressions: view.regressions }));
    for (const r of view.regressions) {
      ctx.stdout.write(`! run ${r.run.id} (${r.run.scenario}, ${r.run.route}, ${formatTimestamp(r.run.startedAt)}): ${r.reasons.join('; ')}\n`);
    }
    if (view.runs.length > 0) ctx.stdout.write(`${view.runs.length} run${view.runs.length === 1 ? '' : 's'}, ${view.regressions.length} regression${view.regressions.length === 1 ? '' : 's'} (${view.file})\n`);
  }
  return f.failOnRegression && view.regressions.length > 0 ? EXIT_CHECK_FAILED : EXIT_OK;
}
