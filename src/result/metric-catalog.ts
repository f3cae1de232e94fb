import { ERROR_KINDS } from '../core/errors.js';
import type { FaultResult, NodeResult, Quantiles, Result } from './result.js';
import { formatCount, formatMs, formatPct, formatSignificant } from '../core/format.js';

/**
 * The named metrics a threshold can read, and how to read each from a Result.
 *
 *   run-wide   coverage.final, pickupMs.p99, requests.expired, errors.tls.handshake-failed ...
 *   per node   nodes.<name|*>.<field>     e.g. nodes.*.connectedTentacles
 *   per fault  faults.<name|*>.<field>    e.g. faults.crash@node2.recoveryMs.p99
 *
 * Node and fault names may contain dots (fault names are `kind@target`, targets can be
 * addresses), so a scoped path is split by matching a known field at its end.
 */

export type MetricUnit = 'ms' | 'ratio' | 'count' | 'per-second';

export const QUANTILE_KEYS = ['count', 'min', 'p50', 'p90', 'p99', 'max', 'mean'] as const;
export type QuantileKey = (typeof QUANTILE_KEYS)[number];

export { ERROR_KINDS };

/** A Result as the verdict sees it (the verdict itself is what is being computed). */
export type MeasuredResult = Omit<Result, 'verdict' | 'thresholds'> & Partial<Pick<Result, 'verdict' | 'thresholds'>>;

interface Field<T> {
  path: string;
  unit: MetricUnit;
  read: (from: T) => number | null;
}

function quantileFields<T>(prefix: string, unit: MetricUnit, pick: (from: T) => Quantiles | null | undefined): Field<T>[] {
  return QUANTILE_KEYS.map((key) => ({
    path: `${prefix}.${key}`,
    unit: key === 'count' ? 'count' : unit,
    read: (from: T) => {
      const q = pick(from);
      return q === null || q === undefined ? null : q[key];
    },
  }));
}

const REQUEST_KEYS = ['queued', 'collected', 'expired', 'lostAfterCollection', 'answered', 'pendingAtEnd'] as const;
const COVERAGE_KEYS = ['final', 'min', 'mean'] as const;

const RUN_FIELDS: Field<MeasuredResult>[] = [
  ...COVERAGE_KEYS.map((k) => ({ path: `coverage.${k}`, unit: 'ratio' as const, read: (r: MeasuredResult) => r.summary.coverage[k] })),
  ...quantileFields<MeasuredResult>('pickupMs', 'ms', (r) => r.summary.pickupMs),
  ...REQUEST_KEYS.map((k) => ({
    path: `requests.${k}`,
    unit: 'count' as const,
    read: (r: MeasuredResult) => (r.summary.requests === null ? null : r.summary.requests[k]),
  })),
  { path: 'reconnects', unit: 'count', read: (r) => r.summary.reconnects },
  { path: 'polls', unit: 'count', read: (r) => r.summary.polls },
  { path: 'tentacles', unit: 'count', read: (r) => r.summary.tentacles },
  { path: 'pairs', unit: 'count', read: (r) => r.summary.pairs },
  { path: 'coveredPairs', unit: 'count', read: (r) => r.summary.coveredPairs },
  { path: 'nodesNeverPolled', unit: 'count', read: (r) => r.summary.nodesNeverPolled.length },
  { path: 'errors.total', unit: 'count', read: (r) => sumValues(r.summary.errors) },
  ...ERROR_KINDS.map((kind) => ({ path: `errors.${kind}`, unit: 'count' as const, read: (r: MeasuredResult) => r.summary.errors[kind] ?? 0 })),
  ...quantileFields<MeasuredResult>('handshakeMs.tcp', 'ms', (r) => r.summary.handshakeMs.tcp),
  ...quantileFields<MeasuredResult>('handshakeMs.tls', 'ms', (r) => r.summary.handshakeMs.tls),
  ...quantileFields<MeasuredResult>('handshakeMs.identify', 'ms', (r) => r.summary.handshakeMs.identify),
  ...quantileFields<MeasuredResult>('registrationMs', 'ms', (r) => r.summary.registrationMs),
  { path: 'registrationMs.failures', unit: 'count', read: (r) => sumValues(r.summary.registrationMs.failures) },
  ...quantileFields<MeasuredResult>('pollGapMs', 'ms', (r) => r.summary.pollGapMs),
  ...(['p50', 'p99', 'max'] as const).map((k) => ({
    path: `harness.loopDelayMs.${k}`,
    unit: 'ms' as const,
    read: (r: MeasuredResult) => r.harness?.fleet.loopDelayMs[k] ?? null,
  })),
  ...(['p50', 'p99', 'max'] as const).map((k) => ({
    path: `harness.steadyLoopDelayMs.${k}`,
    unit: 'ms' as const,
    read: (r: MeasuredResult) => r.harness?.fleet.steadyLoopDelayMs?.[k] ?? null,
  })),
  { path: 'harness.cpuShare', unit: 'ratio', read: (r) => r.harness?.fleet.cpuShare ?? null },
  { path: 'harness.cpuCores', unit: 'ratio', read: (r) => r.harness?.fleet.cpuCores ?? null },
];

const NODE_FIELDS: Field<NodeResult>[] = [
  { path: 'connectedTentacles', unit: 'count', read: (n) => n.connectedTentacles },
  { path: 'maxConnectedTentacles', unit: 'count', read: (n) => n.maxConnectedTentacles },
  { path: 'polledBy', unit: 'count', read: (n) => n.polledBy },
  { path: 'polls', unit: 'count', read: (n) => n.polls },
  ...COVERAGE_KEYS.map((k) => ({ path: `coverage.${k}`, unit: 'ratio' as const, read: (n: NodeResult) => n.coverage[k] })),
  ...quantileFields<NodeResult>('pickupMs', 'ms', (n) => n.pickupMs),
  ...REQUEST_KEYS.map((k) => ({
    path: `requests.${k}`,
    unit: 'count' as const,
    read: (n: NodeResult) => (n.requests === null ? null : n.requests[k]),
  })),
];

const FAULT_FIELDS: Field<FaultResult>[] = [
  ...quantileFields<FaultResult>('detectionMs', 'ms', (f) => f.detectionMs),
  ...quantileFields<FaultResult>('recoveryMs', 'ms', (f) => f.recoveryMs),
  { path: 'timeToFullCoverageMs', unit: 'ms', read: (f) => f.timeToFullCoverageMs },
  { path: 'affectedPairs', unit: 'count', read: (f) => f.affectedPairs },
  { path: 'queuedDuringFault', unit: 'count', read: (f) => f.queuedDuringFault },
  { path: 'expired', unit: 'count', read: (f) => f.expired },
  { path: 'lostAfterCollection', unit: 'count', read: (f) => f.lostAfterCollection },
  { path: 'reconnectAttempts', unit: 'count', read: (f) => f.reconnectAttempts },
  { path: 'peakHandshakesPerSec', unit: 'per-second', read: (f) => f.peakHandshakesPerSec },
];

const RUN_BY_PATH = new Map(RUN_FIELDS.map((f) => [f.path, f]));
const NODE_BY_PATH = new Map(NODE_FIELDS.map((f) => [f.path, f]));
const FAULT_BY_PATH = new Map(FAULT_FIELDS.map((f) => [f.path, f]));

/** A metric path resolved against the catalogue. `name` is a node/fault name or '*'. */
export type MetricRef =
  | { scope: 'run'; path: string; unit: MetricUnit }
  | { scope: 'node'; path: string; name: string; field: string; unit: MetricUnit }
  | { scope: 'fault'; path: string; name: string; field: string; unit: MetricUnit };

/** One value read for a metric; `*` paths give one reading per node or fault. */
export interface MetricReading {
  metric: string;
  actual: number | null;
}

/** Resolve a metric path, or null when it names no known metric. */
export function resolveMetric(path: string): MetricRef | null {
  const run = RUN_BY_PATH.get(path);
  if (run) return { scope: 'run', path, unit: run.unit };
  for (const [scope, prefix, fields] of [
    ['node', 'nodes.', NODE_BY_PATH],
    ['fault', 'faults.', FAULT_BY_PATH],
  ] as const) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    for (const [field, def] of fields as Map<string, Field<unknown>>) {
      if (rest.length > field.length + 1 && rest.endsWith(`.${field}`)) {
        const name = rest.slice(0, rest.length - field.length - 1);
        return { scope, path, name, field, unit: def.unit };
      }
    }
  }
  return null;
}

/** Read a resolved metric. A named node/fault that is absent reads as null; `*` over nothing reads as []. */
export function readMetric(result: MeasuredResult, ref: MetricRef): MetricReading[] {
  if (ref.scope === 'run') {
    return [{ metric: ref.path, actual: RUN_BY_PATH.get(ref.path)!.read(result) }];
  }
  if (ref.scope === 'node') {
    const field = NODE_BY_PATH.get(ref.field)!;
    const matches = ref.name === '*' ? result.nodes : result.nodes.filter((n) => n.name === ref.name);
    if (matches.length === 0 && ref.name !== '*') return [{ metric: ref.path, actual: null }];
    return matches.map((n) => ({ metric: `nodes.${n.name}.${ref.field}`, actual: field.read(n) }));
  }
  const field = FAULT_BY_PATH.get(ref.field)!;
  const matches = ref.name === '*' ? result.faults : result.faults.filter((f) => f.name === ref.name);
  if (matches.length === 0 && ref.name !== '*') return [{ metric: ref.path, actual: null }];
  return matches.map((f) => ({ metric: `faults.${f.name}.${ref.field}`, actual: field.read(f) }));
}

/** The unit of a concrete or `*` metric path (count when unknown). */
export function metricUnit(path: string): MetricUnit {
  return resolveMetric(path)?.unit ?? 'count';
}

/** A metric value in the words a person reads: ms as durations, ratios as percentages. */
export function formatMetricValue(unit: MetricUnit, value: number | null): string {
  if (value === null) return 'not measured';
  switch (unit) {
    case 'ms':
      return formatMs(value);
    case 'ratio':
      return formatPct(value);
    case 'per-second':
      return `${formatSignificant(value)}/s`;
    case 'count':
      return formatCount(value);
  }
}

/** Every metric name, with `<name>` standing for a node or fault name (for help text). */
export function metricNames(): string[] {
  return [
    ...RUN_FIELDS.map((f) => f.path),
    ...NODE_FIELDS.map((f) => `nodes.<name|*>.${f.path}`),
    ...FAULT_FIELDS.map((f) => `faults.<name|*>.${f.path}`),
  ];
}

/** Up to `max` valid metric names close to a mistyped one (edit distance, then shared prefix). */
export function suggestMetrics(path: string, max = 3): string[] {
  let candidates: string[] = RUN_FIELDS.map((f) => f.path);
  for (const [prefix, fields] of [
    ['nodes.', NODE_FIELDS],
    ['faults.', FAULT_FIELDS],
  ] as const) {
    // Keep the name the user wrote (second segment) and vary the field.
    const name = path.startsWith(prefix) ? (path.slice(prefix.length).split('.')[0] ?? '*') : '*';
    candidates = candidates.concat(fields.map((f: Field<never>) => `${prefix}${name || '*'}.${f.path}`));
  }
  const scored = candidates
    .map((c) => ({ c, d: editDistance(path.toLowerCase(), c.toLowerCase()) }))
    .filter(({ c, d }) => d <= Math.max(2, Math.floor(c.length / 4)))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  return [...new Set(scored.map((s) => s.c))].slice(0, max);
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

function sumValues(record: Record<string, number>): number {
  let total = 0;
  for (const v of Object.values(record)) total += v;
  return total;
}
