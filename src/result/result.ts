/**
 * The Result: one JSON document per run, the only input of every renderer
 * (`pollfleet report result.json` re-renders old runs). Identified by `schema`, versioned
 * by `schemaVersion`; validated on read by src/result/result-schema.ts (which must agree
 * with these types: it checks so at compile time).
 * Numbers are measured; a figure that could not be measured is `null`, never invented.
 */
import type { ErrorData } from '../core/errors.js';

export const RESULT_SCHEMA = 'pollfleet.result/v1';
export const COMPARISON_SCHEMA = 'pollfleet.comparison/v1';

/**
 * Version of the Result / Comparison document written today. 1: no `schemaVersion` field,
 * only the pickup histograms encoded (`nodes[].pickupHistogram`). 2: every `Quantiles`
 * carries its encoded `histogram`.
 */
export const RESULT_SCHEMA_VERSION = 2;
export const COMPARISON_SCHEMA_VERSION = 2;

/** Distribution summary. All null when nothing was measured (count 0) or unavailable. */
export interface Quantiles {
  count: number;
  min: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
  /**
   * The whole distribution: an HDR histogram of the durations in MICROseconds, compressed
   * and base64-encoded (src/result/histogram.ts), so Results merge exactly
   * (src/result/merge.ts). Null when nothing was recorded (count 0) or when the document
   * predates schemaVersion 2.
   */
  histogram: string | null;
}

export interface CoverageStats {
  /** Share of pairs covered at the end of the run (0..1). */
  final: number;
  /** Lowest share over the steady part of the run (after ramp-up). */
  min: number;
  /** Mean share over the steady part of the run. */
  mean: number;
}

export interface RequestCounts {
  queued: number;
  /** Collected: written to a connection, or taken by a connection whose write then failed (a real node). */
  collected: number;
  /** Not collected within PollingRequestQueueTimeout: in real Octopus, a failed RPC (retried for about 2.5 min when RPC retries are on). */
  expired: number;
  /**
   * Collected, then failed because the write or the response failed (the connection was dead or
   * died): a real node never requeues such a request, so its task step fails. Read as 0 from
   * documents written before it existed.
   */
  lostAfterCollection: number;
  /** A response came back. */
  answered: number;
  /** Still waiting when the run ended (neither collected nor expired). */
  pendingAtEnd: number;
}

export interface NodeResult {
  name: string;
  /** Polling address the node listens on (host:port). */
  address: string;
  apiUrl: string | null;
  /** Tentacles with an identified connection to this node at the end of the run (null: unavailable). */
  connectedTentacles: number | null;
  /** Highest number of connected tentacles seen during the run. */
  maxConnectedTentacles: number | null;
  /** Distinct tentacles this node sent at least one message to before the run ended (not the null messages of its own shutdown). */
  polledBy: number | null;
  /** Messages this node wrote to tentacles (requests + null messages). */
  polls: number | null;
  coverage: CoverageStats;
  /** Pickup latency of this node's queued work (null: unavailable, e.g. an external node). */
  pickupMs: Quantiles | null;
  requests: RequestCounts | null;
  /** Connections this node closed for being over its per-subscription connection cap (embedded nodes; absent when none). */
  connectionsOverSubscriptionCap?: number;
}

export interface TimelinePoint {
  /** Milliseconds since the run started. */
  t: number;
  /** Coverage share 0..1 at this second. */
  coverage: number;
  /** Connected tentacles per node name. */
  nodes: Record<string, number>;
  /**
   * Covered tentacles per node name (the pair's coverage, counting staleness and queue
   * groups, as coverage.final does). Absent in documents older than schemaVersion 2.
   */
  nodeCoverage?: Record<string, number>;
  /** Polls (messages received by tentacles) during this interval. */
  polls: number;
  /** TLS handshakes completed during this interval (all nodes). */
  handshakes: number;
  /** Connections that closed on an error during this interval. */
  errors: number;
  /** Reconnect attempts during this interval. */
  reconnects: number;
  /** Run phase at this point. */
  phase: 'registering' | 'ramping' | 'steady' | 'fault' | 'recovering' | 'stopping';
}

export interface FaultResult {
  name: string;
  action: string;
  target: string;
  /** Fault start, ms since run start. */
  atMs: number;
  /** Fault length (null: permanent). */
  forMs: number | null;
  affectedPairs: number;
  detectionMs: Quantiles;
  recoveryMs: Quantiles;
  /** Fault end -> coverage back to 100 % (null: never within the run). */
  timeToFullCoverageMs: number | null;
  queuedDuringFault: number;
  expired: number;
  /** Requests of the fault's node(s) lost after collection during the fault and its aftermath (0 in older documents). */
  lostAfterCollection: number;
  /** Connection attempts of affected pairs, quick retries included. */
  reconnectAttempts: number;
  peakHandshakesPerSec: number;
  backoff: 'faithful' | 'shortened';
  /** Plain words, e.g. "node2 crashed at 0:30: ..." */
  story: string;
  /** The pitfall this fault kind shows, as a diagnosis sentence (node-added); absent for most kinds. */
  diagnosis?: string;
  pass: boolean;
  reasons: string[];
}

export interface ThresholdResult {
  /** As written, e.g. `pickupMs.p99 < 5000`. */
  expression: string;
  /** Metric path the expression reads, with `*` expanded (one result per match). */
  metric: string;
  actual: number | null;
  expected: string;
  pass: boolean;
}

export interface TentacleNodeMatrix {
  /** Node names, column order. */
  nodes: string[];
  /** Tentacles per bucket (1 for small fleets). */
  bucketSize: number;
  /** rows[bucket][node] = share (0..1) of the bucket's tentacles this node polled at least once. */
  polledShare: number[][];
  /** rows[bucket][node] = share (0..1) of the bucket's pairs covered at the end. */
  coveredShare: number[][];
}

export interface Summary {
  tentacles: number;
  nodes: number;
  pairs: number;
  coveredPairs: number;
  coverage: CoverageStats;
  pickupMs: Quantiles | null;
  requests: RequestCounts | null;
  handshakeMs: { tcp: Quantiles; tls: Quantiles; identify: Quantiles };
  /**
   * `throttled`/`throttledWaitMs`: HTTP 429 answers the registrations waited out (Retry-After)
   * and the time spent waiting -- throttling, not failure. Absent when there were none.
   * `lostAnswerRetries`/`adopted`: synthetic registrations tried again after a lost answer (no
   * HTTP answer), and machines such a retry found the server had created. Absent when none.
   */
  registrationMs: Quantiles & { failures: Record<string, number>; throttled?: number; throttledWaitMs?: number; lostAnswerRetries?: number; adopted?: number };
  /** Connection attempts after the first one per connection. */
  reconnects: number;
  /** Messages received by tentacles. */
  polls: number;
  /** Longest gap between two polls on one connection (ms). */
  pollGapMs: Quantiles;
  errors: Record<string, number>;
  /** First message seen per error kind (for diagnosis; never holds secrets). */
  errorExamples: Record<string, string>;
  /**
   * The data of that example per error kind (HTTP status, expected/presented thumbprints,
   * node, address), as set where the error was made. Absent in Results of older versions.
   */
  errorExampleData?: Record<string, ErrorData>;
  nodesNeverPolled: string[];
  /**
   * The Redis queue's events counted (queue: redis): `unavailable`, `recovered`, `data-lost`,
   * `connection-dropped`, `request-abandoned`, `request-failed:<reason>` (heartbeat-lost,
   * data-lost, redis-unavailable). Absent when nothing happened (and in older Results).
   */
  redisQueue?: Record<string, number>;
  /**
   * Finished server tasks per kind (health, deploy, upload) and final state (Success,
   * Failed, ...), when the embedded cluster ran them. Absent in older Results and external runs.
   */
  tasks?: Record<string, Record<string, number>>;
  /** The polling request queue timeout pickup latency is measured against (absent in older Results). */
  pickupLimitMs?: number;
}

/** Load on the REST API (the web / registration path), driven with autocannon. */
export interface ApiLoadResult {
  /** Base URL driven (no credentials). */
  url: string;
  path: string;
  connections: number;
  durationMs: number;
  requests: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  statusCounts: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Requests answered per node (from the simulated node's response header); null when the nodes do not say. */
  perNode: Record<string, number> | null;
}

/** A process's own health over the run (src/metrics/harness-monitor.ts). */
export interface HarnessProcess {
  /** Event-loop delay: how late a timer fired (perf_hooks.monitorEventLoopDelay, sampled every ~10-20 ms). Null: no sample. */
  loopDelayMs: { p50: number | null; p99: number | null; max: number | null };
  /**
   * The same from the end of the ramp (and its settle time) to the end of the run: the loop while
   * the fleet is held, without the ramp's handshakes. Fleet only; absent when the run never got there.
   */
  steadyLoopDelayMs?: { p50: number | null; p99: number | null; max: number | null };
  /** CPU time / wall time: 1 = one core fully busy. */
  cpuShare: number;
  /** The same as a share of all the machine's cores (0..1). */
  cpuCores: number;
  /**
   * Fleet with worker threads (fleet.workers > 1) only: the cores its threads can keep busy at
   * once, min(main thread + workers, the machine's cores). cpuShare is the whole process's (every
   * thread), so it can pass 1; the saturation rule divides it by this. Absent: 1.
   */
  usableCores?: number;
}

/** One fleet worker thread's own event-loop delay (fleet.workers > 1). */
export interface HarnessWorker {
  worker: number;
  loopDelayMs: { p50: number | null; p99: number | null; max: number | null };
  steadyLoopDelayMs?: { p50: number | null; p99: number | null; max: number | null };
}

/** The harness self-check: can the fleet's timings be trusted? */
export interface HarnessResult {
  fleet: HarnessProcess;
  /** Per node process of the embedded cluster; null when not measured (external target, or not reported). */
  nodes: Record<string, HarnessProcess> | null;
  /** The fleet's loop delay or CPU share passed its limit (src/scenario/defaults.ts HARNESS_DEFAULTS). */
  saturated: boolean;
  /** Which figure passed which limit, in words. */
  reasons: string[];
  /** Per fleet worker thread (fleet.workers > 1); `fleet.loopDelayMs` is then the worst of the main thread and these. */
  workers?: HarnessWorker[];
}

/**
 * Real health-check tasks queued for the synthetic machines through a real cluster's REST API
 * (external.healthChecks). States are the server's; times are pollfleet's clock (queued -> the
 * first request reaching one of the task's machines), per the node that ran the task.
 */
export interface HealthChecksResult {
  everyMs: number;
  tasks: number;
  /** Final task states as the server gave them (Success, Failed, TimedOut, Executing, ...). */
  states: Record<string, number>;
  perNode: Record<string, { tasks: number; firstRequestMs: Quantiles; withoutRequest: number }>;
  /** What reached the synthetic tentacles during the run: `Service.Method` -> count. */
  requestsSeen: Record<string, number>;
  /** Tasks that could not be queued or read (at most 5). */
  errors: string[];
}

/** One shard's slice of the fleet: tentacles firstTentacle .. firstTentacle + tentacles - 1 of totalTentacles. */
export interface ResultShard {
  index: number;
  count: number;
  firstTentacle: number;
  tentacles: number;
  totalTentacles: number;
}

export interface Result {
  schema: typeof RESULT_SCHEMA;
  /** RESULT_SCHEMA_VERSION when written; documents without it read as version 1. */
  schemaVersion: number;
  tool: { name: 'pollfleet'; version: string };
  /** Scenario name. */
  name: string;
  route: string;
  queue: 'per-node' | 'shared' | 'redis';
  target: 'embedded' | 'external';
  balancer: string | null;
  /** The resolved scenario, secrets removed. */
  scenario: unknown;
  /** Settings shorter than their real defaults, e.g. "pollingQueueWaitMs 5000 (real 30000)". */
  shortened: string[];
  machine: { platform: string; cpus: number; memoryGiB: number; node: string };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** The run was cut short (e.g. Ctrl-C); figures cover what ran. */
  interrupted: boolean;
  /**
   * Internal errors (a bug in pollfleet: an unhandled rejection or an uncaught exception in the
   * CLI process) that stopped the run early; absent when there were none. The run is then also
   * `interrupted` and the exit code is 3.
   */
  internalErrors?: string[];
  summary: Summary;
  nodes: NodeResult[];
  matrix: TentacleNodeMatrix;
  timeline: TimelinePoint[];
  faults: FaultResult[];
  /** REST API load results, when the scenario asked for them (optional in older results). */
  apiLoad?: ApiLoadResult | null;
  /** The harness's own event-loop delay and CPU share (absent in older results). */
  harness?: HarnessResult;
  /** Real health-check tasks through a real cluster (external.healthChecks); absent otherwise. */
  healthChecks?: HealthChecksResult;
  /** The slice of the fleet this Result measured (`--shard i/n`); absent for a whole run. */
  shard?: ResultShard;
  /** A Result merged from shards (`pollfleet merge`): how many; absent otherwise. */
  merged?: { shards: number };
  /** One actionable sentence per problem observed. */
  diagnosis: string[];
  thresholds: ThresholdResult[];
  verdict: { pass: boolean; reasons: string[] };
}

export interface ComparisonRun {
  name: string;
  route: string;
  queue: string;
  balancer: string | null;
  pass: boolean;
  /** Expected verdict given by the comparison scenario (null: none stated). */
  expectedPass: boolean | null;
  diagnosis: string[];
  result: Result;
}

export interface Comparison {
  schema: typeof COMPARISON_SCHEMA;
  /** COMPARISON_SCHEMA_VERSION when written; documents without it read as version 1. */
  schemaVersion: number;
  name: string;
  startedAt: string;
  finishedAt: string;
  runs: ComparisonRun[];
}

/** What a run measured, before it is judged (verdict/judge.ts adds thresholds, diagnosis and the verdict). */
export type MeasuredResult = Omit<Result, 'thresholds' | 'verdict' | 'diagnosis'>;
