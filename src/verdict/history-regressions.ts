/**
 * Regressions in the run history (`pollfleet history`): runs that got worse than the runs
 * before them of the same scenario and route. Pure: stored run figures in, reasons (as
 * numbers) out; the history store (outputs/history-store.ts) reads the figures,
 * report/render-history.ts words the reasons.
 */
import { minOf } from '../core/numbers.js';

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

/** Why a run counts as a regression, with the figures that say so. */
export type RegressionReason =
  /** pickup p99 above REGRESSION_PICKUP_FACTOR x the median of the previous `runs` runs. */
  | { kind: 'pickup'; pickupP99: number; factor: number; baseline: number; runs: number }
  /** coverage.min below the lowest coverage.min of every previous run. */
  | { kind: 'coverage'; coverageMin: number; lowest: number }
  /** The previous run (started at `previousStartedAt`) passed, this one failed. */
  | { kind: 'verdict'; previousStartedAt: string };

export interface Regression<R extends RunFigures = RunFigures> {
  run: R;
  reasons: RegressionReason[];
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
    const reasons: RegressionReason[] = [];
    const window = previous.slice(-REGRESSION_WINDOW_RUNS);
    const p99s = window.map((r) => r.pickupP99).filter((v): v is number => v !== null);
    if (run.pickupP99 !== null && p99s.length > 0) {
      const baseline = median(p99s);
      if (run.pickupP99 > REGRESSION_PICKUP_FACTOR * baseline) {
        reasons.push({ kind: 'pickup', pickupP99: run.pickupP99, factor: REGRESSION_PICKUP_FACTOR, baseline, runs: p99s.length });
      }
    }
    if (previous.length > 0) {
      const lowest = minOf(previous.map((r) => r.coverageMin), 0);
      if (run.coverageMin < lowest) reasons.push({ kind: 'coverage', coverageMin: run.coverageMin, lowest });
      const before = previous[previous.length - 1]!;
      if (before.pass && !run.pass) reasons.push({ kind: 'verdict', previousStartedAt: before.startedAt });
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
