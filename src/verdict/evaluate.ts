import type { ThresholdResult } from '../result/result.js';
import { formatClock, formatSignificant } from '../report/format.js';
import { formatMetricValue, metricUnit, readMetric, type MeasuredResult, type MetricUnit } from '../result/metric-catalog.js';
import type { ParsedThreshold, ThresholdOp, ThresholdValue } from './threshold-parser.js';

/**
 * Thresholds -> ThresholdResult[] -> verdict. Pure: the Result (and, for history
 * references, previous values of the same metric) in; pass/fail with plain-word reasons out.
 */

/** Previous values of a concrete metric (e.g. `pickupMs.p99`), oldest first. */
export type HistoryLookup = (metric: string) => readonly number[];

export interface EvaluateOptions {
  history?: HistoryLookup;
}

export interface Verdict {
  pass: boolean;
  reasons: string[];
}

/** Evaluate parsed thresholds; `*` gives one ThresholdResult per node or fault. */
export function evaluateThresholds(
  result: MeasuredResult,
  thresholds: readonly ParsedThreshold[],
  options: EvaluateOptions = {},
): ThresholdResult[] {
  const out: ThresholdResult[] = [];
  for (const t of thresholds) {
    const readings = readMetric(result, t.metric);
    if (readings.length === 0) {
      const what = t.metric.scope === 'fault' ? 'faults' : 'nodes';
      out.push({
        expression: t.expression,
        metric: t.metric.path,
        actual: null,
        expected: `${describeExpected(t, result, t.metric.path, options).text} (no ${what} in this run)`,
        pass: false,
      });
      continue;
    }
    for (const { metric, actual } of readings) {
      const target = describeExpected(t, result, metric, options);
      out.push({ expression: t.expression, metric, actual, expected: target.text, pass: compare(actual, t.op, target.value) });
    }
  }
  return out;
}

/**
 * The verdict of a run: fails on any failed threshold, any failed fault, or an interrupted
 * run. Reasons are sentences a person can act on, with actual vs expected.
 */
export function computeVerdict(result: MeasuredResult, thresholdResults: readonly ThresholdResult[]): Verdict {
  const reasons: string[] = [];
  if (result.interrupted) {
    reasons.push(`the run was interrupted at ${formatClock(result.durationMs)}; only what ran was measured`);
  }
  for (const t of thresholdResults) {
    if (t.pass) continue;
    reasons.push(describeFailure(t));
  }
  for (const f of result.faults) {
    if (f.pass) continue;
    const why = f.reasons.length > 0 ? f.reasons.join('; ') : f.story;
    reasons.push(`fault ${f.name} failed: ${why}`);
  }
  return { pass: reasons.length === 0, reasons };
}

/** `nodes.node2.connectedTentacles was 0, expected == 6 (fleet)`. */
export function describeFailure(t: ThresholdResult): string {
  const label = t.expression.startsWith(t.metric) ? t.metric : `${t.metric} (from '${t.expression}')`;
  if (t.actual === null) return `${label} was not measured (expected ${t.expected})`;
  return `${label} was ${formatMetricValue(metricUnit(t.metric), t.actual)}, expected ${t.expected}`;
}

/** A value compared with null is "not measured" and fails, unless the threshold asks about null. */
function compare(actual: number | null, op: ThresholdOp, target: number | null): boolean {
  if (target === null) {
    // Only reachable through `== null` / `!= null`, or a history reference without history.
    if (op === '==') return actual === null;
    if (op === '!=') return actual !== null;
    return actual !== null;
  }
  if (actual === null) return false;
  switch (op) {
    case '<':
      return actual < target;
    case '<=':
      return actual <= target;
    case '>':
      return actual > target;
    case '>=':
      return actual >= target;
    case '==':
      return actual === target;
    case '!=':
      return actual !== target;
  }
}

interface Expected {
  /** null: nothing to compare with (`null` itself, or no history yet). */
  value: number | null;
  text: string;
}

function describeExpected(t: ParsedThreshold, result: MeasuredResult, metric: string, options: EvaluateOptions): Expected {
  const unit = t.metric.unit;
  const v: ThresholdValue = t.value;
  switch (v.kind) {
    case 'null':
      return { value: null, text: `${t.op} null (${t.op === '==' ? 'not measured' : 'measured'})` };
    case 'number':
      return { value: v.value, text: `${t.op} ${formatTarget(unit, v.value)}` };
    case 'fleet':
    case 'nodes': {
      const base = v.kind === 'fleet' ? result.summary.tentacles : result.summary.nodes;
      const value = base * v.factor;
      const ref = v.factor === 1 ? v.kind : `${formatSignificant(v.factor)} x ${v.kind}`;
      return { value, text: `${t.op} ${formatTarget(unit, value)} (${ref})` };
    }
    case 'history': {
      const previous = (options.history?.(metric) ?? []).slice(-v.last);
      const ref = `${v.factor === 1 ? '' : `${formatSignificant(v.factor)} x `}${v.aggregate}(last ${v.last})`;
      if (previous.length === 0) return { value: null, text: `${t.op} ${ref}: no previous runs yet` };
      const value = aggregate(v.aggregate, previous) * v.factor;
      return { value, text: `${t.op} ${formatTarget(unit, value)} (${ref} of ${previous.length} previous)` };
    }
  }
}

/** Targets are shown in the metric's unit, like the actual values they are compared with. */
function formatTarget(unit: MetricUnit, value: number): string {
  return formatMetricValue(unit, value);
}

function aggregate(kind: 'median' | 'mean' | 'min' | 'max', values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  switch (kind) {
    case 'min':
      return sorted[0]!;
    case 'max':
      return sorted[sorted.length - 1]!;
    case 'mean':
      return sorted.reduce((a, b) => a + b, 0) / sorted.length;
    case 'median': {
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    }
  }
}
