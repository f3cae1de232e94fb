/**
 * Measured Results built from scratch for unit tests of the verdict and the diagnosis: a
 * clean run (every pair covered, every node polled by every tentacle, nothing expired, no
 * errors) that a test then bends in the one place it is about.
 */
import type { NodeResult, Result } from '../../src/result/result.js';
import { RESULT_SCHEMA, RESULT_SCHEMA_VERSION } from '../../src/result/result.js';
import { emptyQuantiles } from '../../src/result/histogram.js';

/** A Result before thresholds, diagnosis and verdict (what diagnose() and the thresholds read). */
export type MeasuredResult = Omit<Result, 'thresholds' | 'verdict' | 'diagnosis'>;

const q = (v: number) => ({ count: 10, min: v, p50: v, p90: v, p99: v, max: v, mean: v, histogram: null });

export interface CleanRunShape {
  tentacles?: number;
  nodes?: number;
  route?: string;
  queue?: Result['queue'];
  target?: Result['target'];
  scenario?: unknown;
}

/** A clean, passing run: `tentacles` x `nodes`, direct, one queue per node, embedded. */
export function cleanRun(o: CleanRunShape = {}): MeasuredResult {
  const T = o.tentacles ?? 4;
  const names = Array.from({ length: o.nodes ?? 3 }, (_, i) => `node${i + 1}`);
  const external = o.target === 'external';
  const nodes: NodeResult[] = names.map((name, i) => ({
    name,
    address: `127.0.0.1:${10943 + i}`,
    apiUrl: null,
    connectedTentacles: T,
    maxConnectedTentacles: T,
    polledBy: T,
    polls: external ? null : 10 * T,
    coverage: { final: 1, min: 1, mean: 1 },
    pickupMs: external ? null : q(20),
    requests: external ? null : { queued: 5, collected: 5, expired: 0, lostAfterCollection: 0, answered: 5, pendingAtEnd: 0 },
  }));
  return {
    schema: RESULT_SCHEMA,
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: { name: 'pollfleet', version: 'test' },
    name: 'unit',
    route: o.route ?? 'direct',
    queue: o.queue ?? 'per-node',
    target: o.target ?? 'embedded',
    balancer: null,
    scenario: o.scenario ?? null,
    shortened: [],
    machine: { platform: 'linux x64', cpus: 2, memoryGiB: 4, node: 'v20' },
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:30.000Z',
    durationMs: 30_000,
    interrupted: false,
    summary: {
      tentacles: T,
      nodes: names.length,
      pairs: T * names.length,
      coveredPairs: T * names.length,
      coverage: { final: 1, min: 1, mean: 1 },
      pickupMs: external ? null : q(20),
      requests: external ? null : { queued: 5 * names.length, collected: 5 * names.length, expired: 0, lostAfterCollection: 0, answered: 5 * names.length, pendingAtEnd: 0 },
      handshakeMs: { tcp: q(1), tls: q(10), identify: q(2) },
      registrationMs: { ...q(40), failures: {} },
      reconnects: 0,
      polls: 30 * T,
      pollGapMs: emptyQuantiles(),
      errors: {},
      errorExamples: {},
      nodesNeverPolled: [],
    },
    nodes,
    matrix: { nodes: names, bucketSize: 1, polledShare: [], coveredShare: [] },
    timeline: [],
    faults: [],
  };
}

/** Set how many tentacles polled `node` (and keep nodesNeverPolled consistent). */
export function setPolledBy(r: MeasuredResult, node: string, polledBy: number, connected = polledBy): void {
  const n = r.nodes.find((x) => x.name === node)!;
  n.polledBy = polledBy;
  n.connectedTentacles = connected;
  n.maxConnectedTentacles = connected;
  r.summary.nodesNeverPolled = r.nodes.filter((n) => n.polledBy === 0).map((n) => n.name);
}

/** Let `count` requests expire on `node` (node and summary counts). */
export function setExpired(r: MeasuredResult, node: string, count: number): void {
  const n = r.nodes.find((x) => x.name === node)!;
  n.requests!.expired = count;
  n.requests!.collected = n.requests!.queued - count;
  r.summary.requests!.expired = r.nodes.reduce((a, x) => a + (x.requests?.expired ?? 0), 0);
  r.summary.requests!.collected = r.nodes.reduce((a, x) => a + (x.requests?.collected ?? 0), 0);
}
