import { diagnose } from './diagnose.js';
import type { MeasuredResult, Result } from '../result/result.js';
import type { Scenario } from '../scenario/resolve.js';
import { computeVerdict, evaluateThresholds, type EvaluateOptions } from './evaluate.js';
import { parseThresholds } from './threshold-parser.js';

/**
 * What a run must achieve when its scenario states no thresholds:
 * - classic HA (a queue per node): every pair covered at the end, no node left unpolled,
 *   no request expired;
 * - multi-node polling (a shared queue): every pair covered and nothing expired -- a node
 *   need not be polled directly, any node can hand out its work.
 */
export function defaultThresholds(s: Pick<Scenario, 'cluster' | 'target'>): string[] {
  const base = ['coverage.final >= 1', 'requests.expired == 0'];
  if (s.target === 'external') return ['coverage.final >= 1', 'nodesNeverPolled == 0'];
  return s.cluster.queue === 'per-node' ? [...base, 'nodesNeverPolled == 0'] : base;
}

export function thresholdsFor(s: Scenario, extra: string[] = []): string[] {
  return [...(s.thresholds.length ? s.thresholds : defaultThresholds(s)), ...extra];
}

/**
 * The one place a run is judged, after it has finished: the scenario's thresholds (or the
 * defaults), the command line's, and history references (`2 x median(last 10)`, fed by
 * `options.history`) are evaluated together; the diagnosis and the verdict come with them.
 * The run itself only measures.
 */
export function judge(measured: MeasuredResult, s: Scenario, extraThresholds: string[] = [], options: EvaluateOptions = {}): Result {
  const { thresholds: _t, verdict: _v, diagnosis: _d, ...plain } = measured as MeasuredResult & Partial<Pick<Result, 'thresholds' | 'verdict' | 'diagnosis'>>;
  const withDiagnosis = { ...plain, diagnosis: diagnose(plain) };
  const thresholds = evaluateThresholds(withDiagnosis, parseThresholds(thresholdsFor(s, extraThresholds)), options);
  const verdict = computeVerdict(withDiagnosis, thresholds);
  return { ...withDiagnosis, thresholds, verdict };
}
