import { diagnose, type RouteDiagnosis } from './diagnose.js';
import type { MeasuredResult, Result } from '../result/result.js';
import type { Scenario } from '../scenario/resolve.js';
import { computeVerdict, evaluateThresholds, type EvaluateOptions } from './evaluate.js';
import { parseThresholds } from './threshold-parser.js';
import { HARNESS_DEFAULTS } from '../scenario/defaults.js';

/**
 * The default thresholds -- the only ones: what a run must achieve when its scenario states
 * no thresholds (a scenario's own list replaces them; --threshold flags add to either):
 * - classic HA (a queue per node): every pair covered at the end, no node left unpolled,
 *   no request expired;
 * - multi-node polling (a shared queue): every pair covered and nothing expired -- a node
 *   need not be polled directly, any node can hand out its work;
 * - an external (real) cluster: every pair covered and every node polled (pollfleet queues
 *   no work there, so nothing can expire).
 */
export function defaultThresholds(s: Pick<Scenario, 'cluster' | 'target'>): string[] {
  const base = ['coverage.final >= 1', 'requests.expired == 0'];
  if (s.target === 'external') return ['coverage.final >= 1', 'nodesNeverPolled == 0'];
  return s.cluster.queue === 'per-node' ? [...base, 'nodesNeverPolled == 0'] : base;
}

/**
 * `pollfleet check`'s thresholds beyond the run's: the harness self-check
 * (`harness.loopDelayMs.p99 < 50`), so a check whose fleet could not keep up fails instead of
 * reporting its own lag as the cluster's -- unless the scenario or the command line already
 * states a harness threshold.
 */
export function checkExtraThresholds(s: Pick<Scenario, 'thresholds'>, extra: string[] = []): string[] {
  const stated = [...s.thresholds, ...extra].some((t) => typeof t === 'string' && t.trim().startsWith('harness.'));
  return stated ? extra : [...extra, `harness.loopDelayMs.p99 < ${HARNESS_DEFAULTS.loopDelayP99LimitMs}`];
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
export interface JudgeOptions extends EvaluateOptions {
  /** The route kind's diagnosis sentences (its definition in src/environment/routes/; the caller passes it). */
  route?: RouteDiagnosis;
}

export function judge(measured: MeasuredResult, s: Scenario, extraThresholds: string[] = [], options: JudgeOptions = {}): Result {
  const { thresholds: _t, verdict: _v, diagnosis: _d, ...plain } = measured as MeasuredResult & Partial<Pick<Result, 'thresholds' | 'verdict' | 'diagnosis'>>;
  const withDiagnosis = { ...plain, diagnosis: diagnose(plain, options.route) };
  const thresholds = evaluateThresholds(withDiagnosis, parseThresholds(thresholdsFor(s, extraThresholds)), options);
  const verdict = computeVerdict(withDiagnosis, thresholds);
  return { ...withDiagnosis, thresholds, verdict };
}
