import os from 'node:os';
import type { NodeResult, Result, Summary, TentacleNodeMatrix, CoverageStats, RequestCounts } from '../result/result.js';
import { RESULT_SCHEMA, RESULT_SCHEMA_VERSION } from '../result/result.js';
import { DurationHistogram } from '../result/histogram.js';
import type { Recorder } from './recorder.js';

export interface RunFacts {
  name: string;
  route: string;
  queue: Result['queue'];
  target: Result['target'];
  balancer: string | null;
  scenario: unknown;
  shortened: string[];
  toolVersion: string;
  startedAt: number;
  finishedAt: number;
  /** Sample time used for the "final" state (last steady moment, before stopping). */
  finalAt: number;
  interrupted: boolean;
  nodes: { name: string; address: string; apiUrl: string | null }[];
  /** Node-side figures exist (embedded cluster) or not (external target). */
  nodeSideMeasured: boolean;
  /** PollingRequestQueueTimeout: what pickup latency is compared with (headroom). */
  pickupLimitMs?: number;
}

const MAX_MATRIX_ROWS = 100;

function coverageStats(values: number[], final: number): CoverageStats {
  if (!values.length) return { final, min: final, mean: final };
  let min = 1;
  let sum = 0;
  for (const v of values) {
    if (v < min) min = v;
    sum += v;
  }
  return { final, min, mean: sum / values.length };
}

function round(v: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Build the Result (without thresholds, diagnosis and verdict, which are added after). */
export function buildResult(rec: Recorder, f: RunFacts): Omit<Result, 'thresholds' | 'verdict' | 'diagnosis'> {
  const T = rec.T;
  const N = rec.N;
  const steady = rec.timeline.filter((p) => p.phase === 'steady' || p.phase === 'fault' || p.phase === 'recovering');
  if (!rec.final) rec.markFinal(f.finalAt);
  const finalSnap = rec.finalSnapshot();

  // per-node coverage over the run: share of tentacles for which the pair was covered
  const perNodeCovered = (n: number) => {
    let c = 0;
    for (let t = 0; t < T; t++) if (rec.isCoveredFinal(t, n)) c++;
    return T ? c / T : 0;
  };

  const nodes: NodeResult[] = f.nodes.map((info, n): NodeResult => {
    const counters = rec.nodes[n]!;
    let polledBy = 0;
    for (let t = 0; t < T; t++) if (rec.polledFinal(t, n)) polledBy++;
    const requests: RequestCounts = {
      queued: counters.queued,
      collected: counters.collected,
      expired: counters.expired,
      lostAfterCollection: counters.lostAfterCollection,
      answered: counters.answered,
      pendingAtEnd: Math.max(0, counters.queued - counters.collected - counters.expired),
    };
    // the same definition as coverage.final: covered (not merely connected) tentacles
    const perNodeSeries = steady.map((p) => (T ? (p.nodeCoverage?.[info.name] ?? p.nodes[info.name] ?? 0) / T : 0));
    return {
      name: info.name,
      address: info.address,
      apiUrl: info.apiUrl,
      connectedTentacles: finalSnap.connected[n]!,
      maxConnectedTentacles: counters.maxConnected,
      polledBy,
      polls: f.nodeSideMeasured ? counters.polls : null,
      coverage: { ...coverageStats(perNodeSeries, round(perNodeCovered(n))), final: round(perNodeCovered(n)) },
      pickupMs: f.nodeSideMeasured ? counters.pickup.quantiles() : null,
      requests: f.nodeSideMeasured ? requests : null,
      ...(counters.connectionsOverSubscriptionCap ? { connectionsOverSubscriptionCap: counters.connectionsOverSubscriptionCap } : {}),
    };
  });

  const allPickup = new DurationHistogram();
  for (const c of rec.nodes) allPickup.merge(c.pickup);
  const sum = (k: keyof RequestCounts) => nodes.reduce((a, n) => a + (n.requests?.[k] ?? 0), 0);
  const pairs = T * N;
  const finalCoverage = pairs ? finalSnap.covered / pairs : 0;
  const cov = coverageStats(steady.map((p) => p.coverage), round(finalCoverage));
  const summary: Summary = {
    tentacles: T,
    nodes: N,
    pairs,
    coveredPairs: finalSnap.covered,
    coverage: { final: round(cov.final), min: round(cov.min), mean: round(cov.mean) },
    pickupMs: f.nodeSideMeasured ? allPickup.quantiles() : null,
    requests: f.nodeSideMeasured
      ? { queued: sum('queued'), collected: sum('collected'), expired: sum('expired'), lostAfterCollection: sum('lostAfterCollection'), answered: sum('answered'), pendingAtEnd: sum('pendingAtEnd') }
      : null,
    handshakeMs: { tcp: rec.tcp.quantiles(), tls: rec.tls.quantiles(), identify: rec.identify.quantiles() },
    registrationMs: {
      ...rec.registration.quantiles(), failures: { ...rec.registrationFailures },
      ...(rec.registrationThrottled ? { throttled: rec.registrationThrottled, throttledWaitMs: Math.round(rec.registrationThrottledWaitMs) } : {}),
      ...(rec.registrationLostAnswerRetries ? { lostAnswerRetries: rec.registrationLostAnswerRetries, adopted: rec.registrationAdopted } : {}),
    },
    reconnects: rec.reconnects,
    polls: rec.polls,
    pollGapMs: rec.pollGap.quantiles(),
    errors: { ...rec.errors },
    errorExamples: { ...rec.errorExamples },
    errorExampleData: { ...rec.errorExampleData },
    nodesNeverPolled: nodes.filter((n) => n.polledBy === 0).map((n) => n.name),
    ...(Object.keys(rec.redisQueue).length ? { redisQueue: { ...rec.redisQueue } } : {}),
    ...(Object.keys(rec.tasks).length ? { tasks: structuredClone(rec.tasks) } : {}),
    ...(f.nodeSideMeasured && f.pickupLimitMs !== undefined ? { pickupLimitMs: f.pickupLimitMs } : {}),
  };

  const bucketSize = Math.max(1, Math.ceil(T / MAX_MATRIX_ROWS));
  const matrix: TentacleNodeMatrix = { nodes: f.nodes.map((n) => n.name), bucketSize, polledShare: [], coveredShare: [] };
  for (let start = 0; start < T; start += bucketSize) {
    const end = Math.min(T, start + bucketSize);
    const polledRow: number[] = [];
    const coveredRow: number[] = [];
    for (let n = 0; n < N; n++) {
      let p = 0;
      let c = 0;
      for (let t = start; t < end; t++) {
        if (rec.polledFinal(t, n)) p++;
        if (rec.isCoveredFinal(t, n)) c++;
      }
      polledRow.push(round(p / (end - start), 3));
      coveredRow.push(round(c / (end - start), 3));
    }
    matrix.polledShare.push(polledRow);
    matrix.coveredShare.push(coveredRow);
  }

  return {
    schema: RESULT_SCHEMA,
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: { name: 'pollfleet', version: f.toolVersion },
    name: f.name,
    route: f.route,
    queue: f.queue,
    target: f.target,
    balancer: f.balancer,
    scenario: f.scenario,
    shortened: f.shortened,
    machine: { platform: `${os.platform()} ${os.arch()}`, cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    startedAt: new Date(f.startedAt).toISOString(),
    finishedAt: new Date(f.finishedAt).toISOString(),
    durationMs: Math.round(f.finishedAt - f.startedAt),
    interrupted: f.interrupted,
    summary,
    nodes,
    matrix,
    timeline: rec.timeline,
    faults: [],
  };
}
