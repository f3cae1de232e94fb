import { PollfleetError } from '../core/errors.js';
import { metricNames, resolveMetric, suggestMetrics, type MetricRef } from '../result/metric-catalog.js';

/**
 * Threshold expressions: what a scenario demands of a run, checked before any traffic is
 * sent (a bad one is exit 2) and evaluated against the Result afterwards (a failing one is
 * exit 1). Grammar (whitespace between tokens is optional):
 *
 *   threshold  ::= metric op value
 *   metric     ::= segment ( "." segment )*          ; a name from src/result/metric-catalog.ts
 *   segment    ::= [A-Za-z0-9_@:\-]+ | "*"           ; "*" only as a node or fault name
 *   op         ::= "<" | "<=" | ">" | ">=" | "==" | "!="
 *   value      ::= number [ unit ]
 *                | [ number ( "x" | "*" ) ] reference
 *                | "null"                            ; only with == and != ("was it measured?")
 *   reference  ::= "fleet"                           ; summary.tentacles
 *                | "nodes"                           ; summary.nodes
 *                | aggregate "(" "last" integer ")"  ; over the same metric in previous runs
 *   aggregate  ::= "median" | "mean" | "min" | "max"
 *   number     ::= [ "-" ] digit+ [ "." digit+ ]
 *   unit       ::= "ms" | "s" | "min"                ; only for *Ms metrics (value in ms)
 *                | "%"                               ; only for coverage ratios (value / 100)
 *
 * Examples: `pickupMs.p99 < 5s`, `coverage.min >= 100%`, `nodes.*.connectedTentacles == fleet`,
 * `faults.*.recoveryMs.p99 < 30000`, `pickupMs.p99 < 2 x median(last 10)`.
 */

export type ThresholdOp = '<' | '<=' | '>' | '>=' | '==' | '!=';
export type HistoryAggregate = 'median' | 'mean' | 'min' | 'max';

export type ThresholdValue =
  | { kind: 'number'; value: number }
  | { kind: 'null' }
  | { kind: 'fleet'; factor: number }
  | { kind: 'nodes'; factor: number }
  | { kind: 'history'; factor: number; aggregate: HistoryAggregate; last: number };

export interface ParsedThreshold {
  /** As written (trimmed). */
  expression: string;
  metric: MetricRef;
  op: ThresholdOp;
  value: ThresholdValue;
}

/** A threshold that cannot be parsed: bad input (exit 2). */
export class ThresholdError extends PollfleetError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('input.invalid', problems.length === 1 ? problems[0]! : `invalid thresholds:\n  ${problems.join('\n  ')}`, {
      hint: 'a threshold reads `<metric> <op> <value>`, e.g. `pickupMs.p99 < 5s` or `nodes.*.connectedTentacles == fleet`',
    });
    this.name = 'ThresholdError';
    this.problems = problems;
  }
}

const OPS: readonly ThresholdOp[] = ['<=', '>=', '==', '!=', '<', '>'];
const METRIC_SEGMENT = /^(?:[A-Za-z0-9_@:-]+|\*)$/;
const NUMBER = /^-?\d+(?:\.\d+)?$/;
const NUMBER_WITH_UNIT = /^(-?\d+(?:\.\d+)?)\s*(ms|s|min|%)?$/;
const REFERENCE = /^(?:(-?\d+(?:\.\d+)?)\s*(?:x|\*)\s*)?(fleet|nodes|(median|mean|min|max)\s*\(\s*last\s+(\d+)\s*\))$/;
const MAX_HISTORY_RUNS = 1000;
const MS_PER_UNIT: Record<string, number> = { ms: 1, s: 1000, min: 60_000 };

const VALUE_HELP = 'a number (e.g. 5000, 5s, 99.5%), fleet, nodes, null, or a history reference like 2 x median(last 10)';

/** Parse one threshold; throws ThresholdError quoting the input and saying what was expected. */
export function parseThreshold(text: string): ParsedThreshold {
  const expression = String(text).trim();
  const quoted = `threshold '${expression}'`;
  if (expression === '') {
    throw new ThresholdError([`threshold '' is empty: expected '<metric> <op> <value>', e.g. 'pickupMs.p99 < 5000'`]);
  }
  const found = findOperator(expression);
  if (!found) {
    const single = /[^<>!=]=[^=]/.test(expression) ? ' (use == for equality)' : '';
    throw new ThresholdError([
      `${quoted} has no comparison operator${single}: expected '<metric> <op> <value>' with <op> one of ${OPS.join(' ')}`,
    ]);
  }
  const metricText = expression.slice(0, found.index).trim();
  const valueText = expression.slice(found.index + found.op.length).trim();
  if (metricText === '') throw new ThresholdError([`${quoted} has no metric before '${found.op}': expected e.g. 'pickupMs.p99 ${found.op} ${valueText || '5000'}'`]);
  if (valueText === '') throw new ThresholdError([`${quoted} has no value after '${found.op}': expected ${VALUE_HELP}`]);
  if (/^[<>=!]/.test(valueText) || /[<>=!]$/.test(metricText)) throw new ThresholdError([`${quoted} has a malformed operator: expected one of ${OPS.join(' ')}`]);

  const metric = parseMetric(metricText, quoted);
  const value = parseValue(valueText, quoted, metric, found.op);
  return { expression, metric, op: found.op, value };
}

/** Parse a list; throws one ThresholdError listing every problem. */
export function parseThresholds(list: readonly string[]): ParsedThreshold[] {
  const parsed: ParsedThreshold[] = [];
  const problems: string[] = [];
  list.forEach((text, i) => {
    try {
      parsed.push(parseThreshold(text));
    } catch (e) {
      if (!(e instanceof ThresholdError)) throw e;
      problems.push(...e.problems.map((p) => `thresholds[${i}]: ${p}`));
    }
  });
  if (problems.length > 0) throw new ThresholdError(problems);
  return parsed;
}

/** Every problem in a list at once (empty: all valid). Run before any traffic is sent. */
export function validateThresholds(list: readonly unknown[]): string[] {
  const problems: string[] = [];
  list.forEach((text, i) => {
    if (typeof text !== 'string') {
      problems.push(`thresholds[${i}]: expected a string like 'pickupMs.p99 < 5000', got ${text === null ? 'null' : typeof text}`);
      return;
    }
    try {
      parseThreshold(text);
    } catch (e) {
      if (!(e instanceof ThresholdError)) throw e;
      problems.push(...e.problems.map((p) => `thresholds[${i}]: ${p}`));
    }
  });
  return problems;
}

function findOperator(text: string): { op: ThresholdOp; index: number } | null {
  for (let i = 0; i < text.length; i += 1) {
    for (const op of OPS) {
      if (text.startsWith(op, i)) return { op, index: i };
    }
  }
  return null;
}

function parseMetric(text: string, quoted: string): MetricRef {
  const segments = text.split('.');
  if (/\s/.test(text) || segments.some((s) => !METRIC_SEGMENT.test(s))) {
    throw new ThresholdError([`${quoted}: '${text}' is not a metric name: expected dot-separated names like 'pickupMs.p99' or 'nodes.*.connectedTentacles'`]);
  }
  const ref = resolveMetric(text);
  if (ref === null) {
    const close = suggestMetrics(text);
    const help = close.length > 0 ? `did you mean ${close.join(', ')}?` : `known metrics include ${sampleNames()}`;
    throw new ThresholdError([`${quoted}: unknown metric '${text}'; ${help}`]);
  }
  if (ref.scope === 'run' && segments.includes('*')) {
    throw new ThresholdError([`${quoted}: '*' only stands for a node or fault name (nodes.*.<field>, faults.*.<field>)`]);
  }
  if (ref.scope !== 'run' && ref.name !== '*' && ref.name.split('.').includes('*')) {
    throw new ThresholdError([`${quoted}: '*' must be the whole ${ref.scope} name, e.g. '${ref.scope}s.*.${ref.field}'`]);
  }
  return ref;
}

function parseValue(text: string, quoted: string, metric: MetricRef, op: ThresholdOp): ThresholdValue {
  if (text === 'null') {
    if (op !== '==' && op !== '!=') {
      throw new ThresholdError([`${quoted}: null can only be compared with == or != (was the metric measured or not)`]);
    }
    return { kind: 'null' };
  }
  const num = NUMBER_WITH_UNIT.exec(text);
  if (num) {
    const value = Number(num[1]);
    const unit = num[2];
    if (unit === undefined) return { kind: 'number', value };
    if (unit === '%') {
      if (metric.unit !== 'ratio') {
        throw new ThresholdError([`${quoted}: '%' only applies to coverage ratios; '${metric.path}' is a ${metric.unit === 'ms' ? 'duration in ms' : metric.unit}`]);
      }
      return { kind: 'number', value: value / 100 };
    }
    if (metric.unit !== 'ms') {
      throw new ThresholdError([`${quoted}: the unit '${unit}' only applies to durations (metrics ending in Ms); '${metric.path}' is a ${metric.unit}`]);
    }
    return { kind: 'number', value: value * MS_PER_UNIT[unit]! };
  }
  const ref = REFERENCE.exec(text);
  if (ref) {
    const factor = ref[1] === undefined ? 1 : Number(ref[1]);
    if (ref[2] === 'fleet') return { kind: 'fleet', factor };
    if (ref[2] === 'nodes') return { kind: 'nodes', factor };
    const last = Number(ref[4]);
    if (last < 1 || last > MAX_HISTORY_RUNS) {
      throw new ThresholdError([`${quoted}: last ${ref[4]} is out of range: expected 1 to ${MAX_HISTORY_RUNS} previous runs`]);
    }
    return { kind: 'history', factor, aggregate: ref[3] as HistoryAggregate, last };
  }
  if (NUMBER.test(text.split(/\s/)[0] ?? '') && /[a-z]/i.test(text)) {
    throw new ThresholdError([`${quoted}: '${text}' has an unknown unit or reference: expected ${VALUE_HELP}`]);
  }
  throw new ThresholdError([`${quoted}: '${text}' is not a value: expected ${VALUE_HELP}`]);
}

function sampleNames(): string {
  const names = metricNames();
  return `${names.filter((n) => !n.includes('.p') && !n.startsWith('errors.') && !n.includes('.count')).slice(0, 12).join(', ')}, ...`;
}
