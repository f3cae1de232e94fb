import type { MeasuredResult, Result } from '../result/result.js';
import type { Scenario } from '../scenario/resolve.js';
import { historyOptions, historyThresholds, type HistorySource } from '../verdict/history-thresholds.js';
import { judge, thresholdsFor } from '../verdict/judge.js';
import { routeFor } from '../environment/routes/route-registry.js';
import { parseThresholds } from '../verdict/threshold-parser.js';

/**
 * Wiring between the run, the verdict and the history store: a measured run is judged once
 * (verdict/judge.ts), its history references fed from the store (any HistorySource: previous
 * runs of the same scenario and route). Without a store, a history reference has nothing to
 * compare with and passes.
 */
export function judgeRun(measured: MeasuredResult, s: Scenario, extra: string[], store: HistorySource | null): Result {
  // The route's own diagnosis sentences come from its definition (verdict/ does not import environment/).
  return judge(measured, s, extra, { ...historyOptions(store, measured.name, measured.route, parseThresholds(thresholdsFor(s, extra))), route: routeFor(s.route.kind).diagnosis });
}

/** `run` without --history: say once that history thresholds have nothing to compare with (they pass). */
export function noteHistoryWithoutStore(stderr: NodeJS.WritableStream, scenarios: readonly Scenario[], extra: string[]): void {
  const uses = scenarios.flatMap((s) => historyThresholds(thresholdsFor(s, extra)).map((t) => t.expression));
  if (uses.length === 0) return;
  const listed = [...new Set(uses)];
  stderr.write(`pollfleet: note: ${listed.map((e) => `'${e}'`).join(', ')} ${listed.length === 1 ? 'compares' : 'compare'} with earlier runs, but no --history store was given: ${listed.length === 1 ? 'it passes' : 'they pass'}\n`);
}
