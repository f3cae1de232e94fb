import { z } from 'zod';
import { EXTERNAL_SAFETY_DEFAULTS } from '../scenario/defaults.js';
import {
  COMPARISON_SCHEMA,
  COMPARISON_SCHEMA_VERSION,
  RESULT_SCHEMA,
  RESULT_SCHEMA_VERSION,
  type Comparison,
  type Result,
} from './result.js';

/**
 * The zod schema of a Result and a Comparison, used when one is read back
 * (src/result/read-result-file.ts). The TypeScript types in ./result.ts stay the readable
 * reference; the check at the end of this file fails the build when the two disagree.
 *
 * Histograms: every `Quantiles` object (summary.pickupMs, summary.handshakeMs.tcp/tls/identify,
 * summary.registrationMs, summary.pollGapMs, nodes[].pickupMs, faults[].detectionMs and
 * faults[].recoveryMs) carries its distribution beside the figures, as
 * `histogram: string | null` -- an HDR histogram of microseconds, compressed and base64
 * encoded (src/result/histogram.ts). That is the one shape: merging walks the Quantiles
 * objects, adds their histograms and recomputes the figures (src/result/merge.ts).
 *
 * Versions: a document without `schemaVersion` is version 1 (before histograms were kept
 * everywhere). Version 1 kept only the pickup histogram per node, as
 * `nodes[].pickupHistogram`; on read it is moved into `nodes[].pickupMs.histogram`, and
 * every other `histogram` reads as null. A version newer than this build knows is refused.
 */

const count = z.number().int().nonnegative();
const figure = z.number().nullable();
const strings = z.array(z.string());
const counts = z.record(z.string(), z.number());

export const quantilesSchema = z.object({
  count,
  min: figure,
  p50: figure,
  p90: figure,
  p99: figure,
  max: figure,
  mean: figure,
  histogram: z.string().nullable().default(null),
});

const coverageStatsSchema = z.object({ final: z.number(), min: z.number(), mean: z.number() });

const requestCountsSchema = z.object({ queued: count, collected: count, expired: count, lostAfterCollection: count.default(0), answered: count, pendingAtEnd: count });

export const nodeResultSchema = z
  .object({
    name: z.string(),
    address: z.string(),
    apiUrl: z.string().nullable(),
    connectedTentacles: count.nullable(),
    maxConnectedTentacles: count.nullable(),
    polledBy: count.nullable(),
    polls: count.nullable(),
    coverage: coverageStatsSchema,
    pickupMs: quantilesSchema.nullable(),
    requests: requestCountsSchema.nullable(),
    connectionsOverSubscriptionCap: count.optional(),
    /** Version 1 only: the pickup histogram, now `pickupMs.histogram`. */
    pickupHistogram: z.string().nullable().optional(),
  })
  .transform(({ pickupHistogram, ...node }) =>
    pickupHistogram && node.pickupMs && node.pickupMs.histogram === null ? { ...node, pickupMs: { ...node.pickupMs, histogram: pickupHistogram } } : node,
  );

const timelinePointSchema = z.object({
  t: z.number(),
  coverage: z.number(),
  nodes: counts,
  nodeCoverage: counts.optional(),
  polls: count,
  handshakes: count,
  errors: count,
  reconnects: count,
  phase: z.enum(['registering', 'ramping', 'steady', 'fault', 'recovering', 'stopping']),
});

const faultResultSchema = z.object({
  name: z.string(),
  action: z.string(),
  target: z.string(),
  atMs: z.number(),
  forMs: z.number().nullable(),
  affectedPairs: count,
  detectionMs: quantilesSchema,
  recoveryMs: quantilesSchema,
  timeToFullCoverageMs: z.number().nullable(),
  queuedDuringFault: count,
  expired: count,
  lostAfterCollection: count.default(0),
  reconnectAttempts: count,
  peakHandshakesPerSec: z.number().nonnegative(),
  backoff: z.enum(['faithful', 'shortened']),
  story: z.string(),
  diagnosis: z.string().optional(),
  pass: z.boolean(),
  reasons: strings,
});

const thresholdResultSchema = z.object({
  expression: z.string(),
  metric: z.string(),
  actual: z.number().nullable(),
  expected: z.string(),
  pass: z.boolean(),
});

const matrixSchema = z.object({
  nodes: strings,
  bucketSize: z.number().int().positive(),
  polledShare: z.array(z.array(z.number())),
  coveredShare: z.array(z.array(z.number())),
});

const summarySchema = z.object({
  tentacles: count,
  nodes: count,
  pairs: count,
  coveredPairs: count,
  coverage: coverageStatsSchema,
  pickupMs: quantilesSchema.nullable(),
  requests: requestCountsSchema.nullable(),
  handshakeMs: z.object({ tcp: quantilesSchema, tls: quantilesSchema, identify: quantilesSchema }),
  registrationMs: quantilesSchema.extend({ failures: counts, throttled: count.optional(), throttledWaitMs: z.number().nonnegative().optional(), lostAnswerRetries: count.optional(), adopted: count.optional() }),
  reconnects: count,
  polls: count,
  pollGapMs: quantilesSchema,
  errors: counts,
  /** Added after the first results were written: absent reads as none. */
  errorExamples: z.record(z.string(), z.string()).default({}),
  /** The data of each example (src/core/errors.ts ErrorData); absent in older Results. */
  errorExampleData: z
    .record(
      z.string(),
      z.object({
        status: z.number().int().optional(),
        expectedThumbprint: z.string().optional(),
        presentedThumbprint: z.string().optional(),
        node: z.string().optional(),
        address: z.string().optional(),
        proxy: z.string().optional(),
        presentedIssuer: z.string().optional(),
      }),
    )
    .optional(),
  nodesNeverPolled: strings,
  /** The Redis queue's events counted; absent when none (and in older Results). */
  redisQueue: counts.optional(),
  /** Finished server tasks per kind and state; absent in older Results. */
  tasks: z.record(z.string(), counts).optional(),
  /** The queue timeout pickup latency is measured against; absent in older Results. */
  pickupLimitMs: z.number().nonnegative().optional(),
});

const apiLoadSchema = z.object({
  url: z.string(),
  path: z.string(),
  connections: count,
  durationMs: z.number(),
  requests: count,
  requestsPerSec: z.number(),
  latencyMs: z.object({ p50: z.number(), p90: z.number(), p99: z.number(), max: z.number(), mean: z.number() }),
  statusCounts: counts,
  errors: count,
  timeouts: count,
  perNode: counts.nullable(),
});

const loopDelaySchema = z.object({ p50: figure, p99: figure, max: figure });
const harnessProcessSchema = z.object({
  loopDelayMs: loopDelaySchema,
  steadyLoopDelayMs: loopDelaySchema.optional(),
  cpuShare: z.number().nonnegative(),
  cpuCores: z.number().nonnegative(),
  usableCores: z.number().int().min(1).optional(),
});

const harnessSchema = z.object({
  fleet: harnessProcessSchema,
  nodes: z.record(z.string(), harnessProcessSchema).nullable(),
  saturated: z.boolean(),
  reasons: strings,
  workers: z.array(z.object({ worker: z.number().int().nonnegative(), loopDelayMs: loopDelaySchema, steadyLoopDelayMs: loopDelaySchema.optional() })).optional(),
});

function versionSchema(newest: number) {
  return z.number().int().min(1).max(newest).default(1);
}

export const resultSchema = z.object({
  schema: z.literal(RESULT_SCHEMA),
  schemaVersion: versionSchema(RESULT_SCHEMA_VERSION),
  tool: z.object({ name: z.literal('pollfleet'), version: z.string() }),
  name: z.string(),
  route: z.string(),
  queue: z.enum(['per-node', 'shared', 'redis']),
  target: z.enum(['embedded', 'external']),
  balancer: z.string().nullable(),
  scenario: z.unknown(),
  shortened: strings,
  machine: z.object({ platform: z.string(), cpus: z.number(), memoryGiB: z.number(), node: z.string() }),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  interrupted: z.boolean(),
  internalErrors: strings.optional(),
  summary: summarySchema,
  // no run has more nodes than an external cluster may list: a document with thousands is not a Result
  nodes: z.array(nodeResultSchema).max(EXTERNAL_SAFETY_DEFAULTS.maxNodes, `at most ${EXTERNAL_SAFETY_DEFAULTS.maxNodes} nodes`),
  matrix: matrixSchema,
  timeline: z.array(timelinePointSchema),
  faults: z.array(faultResultSchema),
  apiLoad: apiLoadSchema.nullable().optional(),
  harness: harnessSchema.optional(),
  healthChecks: z
    .object({
      everyMs: z.number().nonnegative(),
      tasks: count,
      states: counts,
      perNode: z.record(z.string(), z.object({ tasks: count, firstRequestMs: quantilesSchema, withoutRequest: count })),
      requestsSeen: counts,
      errors: strings,
    })
    .optional(),
  shard: z.object({ index: z.number().int().min(1), count: z.number().int().min(1), firstTentacle: count, tentacles: count, totalTentacles: count }).optional(),
  merged: z.object({ shards: z.number().int().min(1) }).optional(),
  diagnosis: strings,
  thresholds: z.array(thresholdResultSchema),
  verdict: z.object({ pass: z.boolean(), reasons: strings }),
});

export const comparisonSchema = z.object({
  schema: z.literal(COMPARISON_SCHEMA),
  schemaVersion: versionSchema(COMPARISON_SCHEMA_VERSION),
  name: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  runs: z.array(
    z.object({
      name: z.string(),
      route: z.string(),
      queue: z.string(),
      balancer: z.string().nullable(),
      pass: z.boolean(),
      expectedPass: z.boolean().nullable(),
      diagnosis: strings,
      result: resultSchema,
    }),
  ),
});

// ---- the schema and the types in ./result.ts must agree (both ways), or this does not compile ----
type Agree<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const resultAgrees: Agree<z.output<typeof resultSchema>, Result> = true;
const comparisonAgrees: Agree<z.output<typeof comparisonSchema>, Comparison> = true;
void resultAgrees;
void comparisonAgrees;
