import { formatMs, formatPct, formatTimestamp } from '../report/format.js';

/**
 * Regressions in the run history (`pollfleet history`): runs that got worse than the runs
 * before them of the same scenario and route. Pure: stored run figures in, reasons out; the
 * history store (outputs/history-store.ts) reads the figures, report/render-history.ts
 * prints them.
 */

/** The figures of one stored run a regression is judged on (the history store's runs have them). */
export interface RunFigures {
  id: number;
  scenario: string;
  route: string;
  startedAt: string;
  pass: boolean;
  coverageMin: number;
  pickupP99: number | null;
}

export interface Regression<R extends RunFigures = RunFigures> {
  run: R;
  reasons: string[];
}

/** How many previous runs the pickup baseline uses, and how much worse counts as a regression. */
export const REGRESSION_WINDOW_RUNS = 10;
export const REGRESSION_PICKUP_FACTOR = 2;

/**
 * Flag runs that got worse than the runs before them (same scenario and route):
 * pickup p99 above 2x the median of the previous up to 10 runs, coverage.min below the
 * lowest previous coverage.min, or a verdict that turned from pass to fail.
 * `runs` oldest first (as the history store lists them).
 */
export function regressions<R extends RunFigures>(runs: readonly R[]): Array<Regression<R>> {
  const out: Array<Regression<R>> = [];
  const byKey = new Map<string, R[]>();
  for (const run of runs) {
    const key = `${run.scenario}\u0000${run.route}`;
    const previous = byKey.get(key) ?? [];
    const reasons: string[] = [];
    const window = previous.slice(-REGRESSION_WINDOW_RUNS);
    const p99s = window.map((r) => r.pickupP99).filter((v): v is number => v !== null);
    if (run.pickupP99 !== null && p99s.length > 0) {
      const baseline = median(p99s);
      if (run.pickupP99 > REGRESSION_PICKUP_FACTOR * baseline) {
        reasons.push(`pickup p99 ${formatMs(run.pickupP99)} is more than ${REGRESSION_PICKUP_FACTOR}x the median of the previous ${p99s.length} runs (${formatMs(baseline)})`);
      }
    }
    if (previous.length > 0) {
      const lowest = Math.min(...previous.map((r) => r.coverageMin));
      if (run.coverageMin < lowest) reasons.push(`coverage.min ${formatPct(run.coverageMin)} dropped below the previous lowest ${formatPct(lowest)}`);
      const before = previous[previous.length - 1]!;
      if (before.pass && !run.pass) reasons.push(`the verdict turned from pass to fail (previous run ${formatTimestamp(before.startedAt)})`);
    }
    if (reasons.length) out.push({ run, reasons });
    previous.push(run);
    byKey.set(key, previous);
  }
  return out;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
