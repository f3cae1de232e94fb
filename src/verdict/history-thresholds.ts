import { PollfleetError } from '../core/errors.js';
import type { EvaluateOptions, HistoryLookup } from './evaluate.js';
import { parseThreshold, type ParsedThreshold } from './threshold-parser.js';

/**
 * Thresholds that compare a run with earlier runs (`pickupMs.p99 < 2 x median(last 10)`).
 * The earlier values come from a HistorySource -- in practice the history store
 * (outputs/history-store.ts), previous runs of the same scenario and route; the CLI wires
 * the two together. The store keeps a few run-wide figures per run; a history reference on
 * any other metric is bad input (exit 2) found when the scenario loads, before any traffic.
 */

/** Metrics a history reference may use: the run-wide figures the history store keeps. */
export const HISTORY_METRICS = ['pickupMs.p99', 'coverage.min', 'coverage.final', 'requests.expired', 'reconnects'] as const;

export type HistoryMetric = (typeof HISTORY_METRICS)[number];

export function isHistoryMetric(path: string): path is HistoryMetric {
  return (HISTORY_METRICS as readonly string[]).includes(path);
}

/** Where previous runs' figures come from (the history store satisfies it). */
export interface HistorySource {
  /** Up to `last` previous values of `metric` for this scenario and route, oldest first. */
  values(scenario: string, route: string, metric: HistoryMetric, last: number): number[];
}

/** The thresholds of a (valid) list that reference previous runs. */
export function historyThresholds(list: readonly string[]): ParsedThreshold[] {
  return list.map((text) => parseThreshold(text)).filter((t) => t.value.kind === 'history');
}

/**
 * One problem per history reference on a metric the store does not keep. `label(i)` names
 * where threshold i came from, e.g. `scenarios/check.yaml: thresholds[2]`.
 */
export function historyThresholdProblems(list: readonly string[], label: (i: number) => string): string[] {
  const problems: string[] = [];
  list.forEach((text, i) => {
    const t = parseThreshold(text);
    if (t.value.kind !== 'history' || isHistoryMetric(t.metric.path)) return;
    problems.push(
      `${label(i)}: '${t.expression}' compares ${t.metric.path} with previous runs, but the history store keeps only ` +
        `${HISTORY_METRICS.join(', ')}; use one of those, or a fixed value`,
    );
  });
  return problems;
}

/** Throw the problems above as one bad-input error (exit 2). */
export function checkHistoryThresholds(list: readonly string[], label: (i: number) => string): void {
  const problems = historyThresholdProblems(list, label);
  if (problems.length) throw new PollfleetError('scenario.invalid', problems.join('\n'));
}

/**
 * Previous values of a metric for the verdict, oldest first: up to `last` earlier runs of
 * this scenario and route (call before the current run is appended). Metrics the store
 * does not keep read as no history.
 */
export function historyLookup(source: HistorySource, scenario: string, route: string, last: number): HistoryLookup {
  return (metric) => (isHistoryMetric(metric) ? source.values(scenario, route, metric, last) : []);
}

/**
 * The judge's options for a run of `scenario` on `route` judged by `thresholds`: history
 * references read as many previous runs as the largest window asks for. Without a source,
 * or without history references, there is nothing to look up (a history reference with no
 * history passes).
 */
export function historyOptions(source: HistorySource | null, scenario: string, route: string, thresholds: readonly ParsedThreshold[]): EvaluateOptions {
  const window = source ? historyWindow(thresholds) : 0;
  return source && window > 0 ? { history: historyLookup(source, scenario, route, window) } : {};
}

/** How many previous runs the history thresholds of a list need at most (0: none reference history). */
export function historyWindow(thresholds: readonly ParsedThreshold[]): number {
  let most = 0;
  for (const t of thresholds) if (t.value.kind === 'history') most = Math.max(most, t.value.last);
  return most;
}

/** Check a scenario's thresholds and the --threshold flags together, naming where each came from. */
export function checkRunHistoryThresholds(scenarioThresholds: readonly string[], extra: readonly string[], source: string): void {
  const n = scenarioThresholds.length;
  checkHistoryThresholds([...scenarioThresholds, ...extra], (i) => (i < n ? `${source}: thresholds[${i}]` : '--threshold'));
}
