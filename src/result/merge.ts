import { PollfleetError, type ErrorData } from '../core/errors.js';
import { DurationHistogram, emptyQuantiles } from './histogram.js';
import {
  RESULT_SCHEMA,
  RESULT_SCHEMA_VERSION,
  type ApiLoadResult,
  type CoverageStats,
  type FaultResult,
  type HarnessResult,
  type NodeResult,
  type Quantiles,
  type RequestCounts,
  type Result,
  type TentacleNodeMatrix,
  type TimelinePoint,
} from './result.js';

/**
 * Combine the Results of the shards of one run (each shard drives its own slice of the
 * fleet against the same nodes) into the Result of the whole run. Pure: no clock, no I/O.
 *
 * The merged Result is measured, not judged: thresholds, diagnosis and verdict are applied
 * to it afterwards, in one place (verdict/), as for any run.
 *
 * What is exact and what is not:
 * - EXACT: every distribution (the encoded histograms are decoded, added and summarised
 *   again, so count/p50/p90/p99/mean are those of one histogram fed every shard's
 *   durations; min and max are the extremes of the shards' recorded min and max); every
 *   counter (requests, polls, reconnects, errors, registration failures,
 *   per-node polls and polledBy -- shards have disjoint tentacles); the pair counts and
 *   the final coverage (sum of covered pairs / sum of pairs); the per-node connected
 *   tentacles at the end; the per-interval timeline counters (polls, handshakes, errors,
 *   reconnects); a fault's affected pairs, queued, expired and reconnect attempts.
 * - EXACT AS FAR AS THE TIMELINES ALIGN: the timeline is merged on wall-clock seconds
 *   (each shard's `startedAt` + `t`): per second, coverage is the pair-weighted mean of the
 *   shards' samples and connected tentacles per node are summed. A shard with no sample in
 *   a second contributes its previous sample (a missed tick) or, before its first or after
 *   its last sample, no covered pair. So coverage min/mean (run-wide and per node) and a
 *   node's maxConnectedTentacles, recomputed from the merged timeline, are exact when the
 *   shards sampled in the same seconds, and otherwise off by at most one sampling interval
 *   of one shard. A merged second's phase is the least settled of the shards' phases
 *   (registering > ramping > stopping > fault > recovering > steady), so a second counts as
 *   steady only when every shard was steady in it.
 * - EXACT FOR SHARDS UNDER 50,000 TENTACLES: per-node final coverage (covered tentacles
 *   are counted back from each shard's matrix rows, whose shares are rounded to 3 digits).
 * - NOT EXACT: the tentacle x node matrix is re-bucketed from the shards' rows, taken in
 *   shard order (exact when shard buckets nest in the merged ones, e.g. one tentacle per
 *   row; otherwise a bucket's share is spread evenly over its tentacles); a fault's start
 *   is the earliest shard's on the wall clock (a shard that ended before the fault started
 *   reports it at 0 and pulls it to its own start); its time to full coverage is the
 *   latest shard's (coverage is whole only when every shard's is, but a shard dipping
 *   again afterwards is not seen); its peak handshakes per second is the sum of the
 *   shards' peaks (an upper bound: they may peak in different seconds); REST API load
 *   (autocannon summaries carry no histogram) sums the counters and takes the highest
 *   shard's latency percentiles (an upper bound).
 * - NOT MERGED: a fault's `story` (prose written from one shard's numbers) is left empty for
 *   the renderer to write from the merged numbers; machine, tool and scenario are the first
 *   shard's; node addresses are the first shard's (embedded shards each had their own).
 *
 * Refuses (input.invalid) shards of different runs (name, route, queue, target, balancer or
 * node names differ) and documents without encoded histograms (written before
 * schemaVersion 2), which cannot be merged exactly.
 */
export function mergeResults(input: readonly MergeInput[]): MergedResult {
  if (input.length === 0) throw new PollfleetError('input.invalid', 'merge: no Result to merge');
  const shards = orderShards(input);
  const first = shards[0]!;
  for (const key of ['name', 'route', 'queue', 'target', 'balancer'] as const) {
    const other = shards.find((s) => s[key] !== first[key]);
    if (other) throw new PollfleetError('input.invalid', `merge: the shards are not one run: ${key} ${JSON.stringify(first[key])} vs ${JSON.stringify(other[key])}`);
  }
  const nodeNames = first.nodes.map((n) => n.name);
  for (const [i, s] of shards.entries()) {
    const names = s.nodes.map((n) => n.name);
    if (names.join('\n') !== nodeNames.join('\n')) {
      throw new PollfleetError('input.invalid', `merge: shard ${i + 1} has nodes ${names.join(', ')}, shard 1 has ${nodeNames.join(', ')}`);
    }
  }

  const starts = shards.map((s) => Date.parse(s.startedAt));
  const startedAt = Math.min(...starts);
  const finishedAt = Math.max(...shards.map((s) => Date.parse(s.finishedAt)));
  const T = sum(shards.map((s) => s.summary.tentacles));
  const N = nodeNames.length;
  const pairs = sum(shards.map((s) => s.summary.pairs));
  const coveredPairs = sum(shards.map((s) => s.summary.coveredPairs));

  const timeline = mergeTimelines(shards, starts, startedAt, nodeNames);
  const steady = timeline.filter((p) => STEADY.has(p.phase));
  const q = (where: string, pick: (s: MergeInput) => Quantiles) => mergeQuantiles(shards.map(pick), where);
  const qOrNull = (where: string, pick: (s: MergeInput) => Quantiles | null) => mergeNullableQuantiles(shards.map(pick), where);

  const nodes: NodeResult[] = nodeNames.map((name, n) => {
    const parts = shards.map((s) => s.nodes[n]!);
    const finalShare = T ? sum(shards.map((s) => coveredTentacles(s, n))) / T : 0;
    const series = steady.map((p) => (T ? (p.nodeCoverage?.[name] ?? p.nodes[name] ?? 0) / T : 0));
    const maxSeen = timeline.length ? timeline.reduce((m, p) => Math.max(m, p.nodes[name] ?? 0), 0) : null;
    return {
      name,
      address: parts[0]!.address,
      apiUrl: parts[0]!.apiUrl,
      connectedTentacles: sumOrNull(parts.map((p) => p.connectedTentacles)),
      maxConnectedTentacles: maxSeen ?? sumOrNull(parts.map((p) => p.maxConnectedTentacles)),
      polledBy: sumOrNull(parts.map((p) => p.polledBy)),
      polls: sumOrNull(parts.map((p) => p.polls)),
      coverage: { ...coverageStats(series, round(finalShare)), final: round(finalShare) },
      pickupMs: qOrNull(`nodes[${n}].pickupMs`, (s) => s.nodes[n]!.pickupMs),
      requests: sumRequests(parts.map((p) => p.requests)),
    };
  });

  const finalCoverage = pairs ? coveredPairs / pairs : 0;
  const cov = coverageStats(steady.map((p) => p.coverage), round(finalCoverage));
  const registration = q('summary.registrationMs', (s) => s.summary.registrationMs);
  const summary: MergedResult['summary'] = {
    tentacles: T,
    nodes: N,
    pairs,
    coveredPairs,
    coverage: { final: round(cov.final), min: round(cov.min), mean: round(cov.mean) },
    pickupMs: qOrNull('summary.pickupMs', (s) => s.summary.pickupMs),
    requests: sumRequests(shards.map((s) => s.summary.requests)),
    handshakeMs: {
      tcp: q('summary.handshakeMs.tcp', (s) => s.summary.handshakeMs.tcp),
      tls: q('summary.handshakeMs.tls', (s) => s.summary.handshakeMs.tls),
      identify: q('summary.handshakeMs.identify', (s) => s.summary.handshakeMs.identify),
    },
    registrationMs: { ...registration, failures: sumRecords(shards.map((s) => s.summary.registrationMs.failures)), ...registrationRetries(shards) },
    reconnects: sum(shards.map((s) => s.summary.reconnects)),
    polls: sum(shards.map((s) => s.summary.polls)),
    pollGapMs: q('summary.pollGapMs', (s) => s.summary.pollGapMs),
    errors: sumRecords(shards.map((s) => s.summary.errors)),
    errorExamples: Object.assign({}, ...shards.map((s) => s.summary.errorExamples).reverse()) as Record<string, string>,
    errorExampleData: exampleData(shards),
    nodesNeverPolled: nodes.filter((n) => n.polledBy === 0).map((n) => n.name),
  };

  return {
    schema: RESULT_SCHEMA,
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: first.tool,
    name: first.name,
    route: first.route,
    queue: first.queue,
    target: first.target,
    balancer: first.balancer,
    scenario: first.scenario,
    shortened: [...new Set(shards.flatMap((s) => s.shortened))],
    machine: first.machine,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    durationMs: Math.round(finishedAt - startedAt),
    interrupted: shards.some((s) => s.interrupted),
    summary,
    nodes,
    matrix: mergeMatrix(shards, nodeNames, T),
    timeline,
    faults: mergeFaults(shards, starts, startedAt),
    apiLoad: mergeApiLoad(shards.map((s) => s.apiLoad ?? null)),
    ...mergeHarness(shards),
    merged: { shards: shards.length },
  };
}

/**
 * Shards written by `--shard i/n` are put in slice order and must be one complete set (each
 * index of the same n exactly once, slices adding up to the fleet); a missing or repeated
 * shard is refused, naming it. Results without a shard record (whole runs merged by hand)
 * keep the order given.
 */
function orderShards(input: readonly MergeInput[]): MergeInput[] {
  const marked = input.filter((s) => s.shard);
  if (marked.length === 0) return [...input];
  if (marked.length !== input.length) throw new PollfleetError('input.invalid', 'merge: some Results are shards (--shard i/n) and some are whole runs; merge the shards of one run');
  const n = input[0]!.shard!.count;
  const other = input.find((s) => s.shard!.count !== n);
  if (other) throw new PollfleetError('input.invalid', `merge: the shards are not one run: shard ${other.shard!.index}/${other.shard!.count} vs shard ${input[0]!.shard!.index}/${n}`);
  const byIndex = new Map<number, MergeInput>();
  for (const s of input) {
    if (byIndex.has(s.shard!.index)) throw new PollfleetError('input.invalid', `merge: shard ${s.shard!.index}/${n} is given twice`);
    byIndex.set(s.shard!.index, s);
  }
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length) {
    throw new PollfleetError('input.invalid', `merge: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${n}`).join(', ')} missing: a merged Result of part of the fleet would judge part of it`);
  }
  const ordered = [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
  const total = ordered[0]!.shard!.totalTentacles;
  if (ordered.some((s) => s.shard!.totalTentacles !== total) || sum(ordered.map((s) => s.shard!.tentacles)) !== total) {
    throw new PollfleetError('input.invalid', `merge: the shards' slices do not add up to one fleet of ${total} tentacles`);
  }
  return ordered;
}

/**
 * The harness figures of a merged run: each shard's fleet ran in its own process (often its
 * own machine), so the merged fleet figures are the worst shard's (the highest loop-delay p99,
 * whole run and while held -- each judged on its own -- and CPU share), and the run is saturated when any shard was -- its reasons are kept,
 * prefixed with the shard.
 */
function mergeHarness(shards: readonly MergeInput[]): { harness?: HarnessResult } {
  const parts = shards.map((s, i) => ({ h: s.harness, label: s.shard ? `shard ${s.shard.index}/${s.shard.count}` : `Result ${i + 1}` })).filter((p) => p.h);
  if (parts.length === 0) return {};
  const worst = parts.reduce((a, b) => ((b.h!.fleet.loopDelayMs.p99 ?? 0) > (a.h!.fleet.loopDelayMs.p99 ?? 0) ? b : a));
  const cpu = Math.max(...parts.map((p) => p.h!.fleet.cpuShare));
  // While held: the worst shard by its own steady figure (not necessarily the one that lagged most while ramping).
  const held = parts.filter((p) => p.h!.fleet.steadyLoopDelayMs);
  const steady = held.length === parts.length ? held.reduce((a, b) => ((b.h!.fleet.steadyLoopDelayMs!.p99 ?? 0) > (a.h!.fleet.steadyLoopDelayMs!.p99 ?? 0) ? b : a)).h!.fleet.steadyLoopDelayMs : undefined;
  const { steadyLoopDelayMs: _, ...fleet } = worst.h!.fleet;
  return {
    harness: {
      fleet: { ...fleet, ...(steady ? { steadyLoopDelayMs: steady } : {}), cpuShare: cpu },
      nodes: worst.h!.nodes,
      saturated: parts.some((p) => p.h!.saturated),
      reasons: parts.flatMap((p) => p.h!.reasons.map((r) => `${p.label}: ${r}`)),
    },
  };
}

/** A shard's Result; judged or not (thresholds, diagnosis and verdict are not read). */
export type MergeInput = Omit<Result, 'thresholds' | 'verdict' | 'diagnosis'>;
/** The merged, measured Result: judge it (verdict/) like any run's. */
export type MergedResult = Omit<Result, 'thresholds' | 'verdict' | 'diagnosis'>;

/** One histogram fed every part's durations, summarised again. */
export function mergeQuantiles(parts: readonly Quantiles[], where = 'histogram'): Quantiles {
  const merged = new DurationHistogram();
  let expected = 0;
  for (const [i, p] of parts.entries()) {
    if (p.count === 0) continue;
    if (p.histogram === null) {
      throw new PollfleetError('input.invalid', `merge: shard ${i + 1}: ${where} has ${p.count} values but no encoded histogram (written before schemaVersion ${RESULT_SCHEMA_VERSION}); it cannot be merged exactly`);
    }
    merged.merge(new DurationHistogram(p.histogram));
    expected += p.count;
  }
  if (merged.count !== expected) throw new PollfleetError('input.invalid', `merge: ${where}: the encoded histograms hold ${merged.count} values, the counts say ${expected}`);
  if (!expected) return emptyQuantiles();
  // Percentiles and the mean come from the buckets and survive encoding; min and max are the
  // exact recorded values, which an encoded histogram only keeps to its bucket: take them
  // from the parts' figures.
  const measured = parts.filter((p) => p.count > 0);
  return {
    ...merged.quantiles(),
    min: measured.reduce((m, p) => Math.min(m, p.min ?? Infinity), Infinity),
    max: measured.reduce((m, p) => Math.max(m, p.max ?? -Infinity), -Infinity),
  };
}

function mergeNullableQuantiles(parts: ReadonlyArray<Quantiles | null>, where: string): Quantiles | null {
  const present = parts.filter((p): p is Quantiles => p !== null);
  return present.length ? mergeQuantiles(present, where) : null;
}

// ---- timeline ----

const STEADY = new Set<TimelinePoint['phase']>(['steady', 'fault', 'recovering']);
/** Least settled first: a merged second takes the first of these that any shard was in. */
const PHASE_ORDER: TimelinePoint['phase'][] = ['registering', 'ramping', 'stopping', 'fault', 'recovering', 'steady'];

function mergeTimelines(shards: readonly MergeInput[], starts: number[], startedAt: number, nodeNames: string[]): TimelinePoint[] {
  // per shard: wall-clock second -> the points sampled in it
  const bySecond = shards.map((s, i) => {
    const m = new Map<number, TimelinePoint[]>();
    for (const p of s.timeline) {
      const sec = Math.floor((starts[i]! + p.t) / 1000);
      const list = m.get(sec);
      if (list) list.push(p);
      else m.set(sec, [p]);
    }
    return m;
  });
  const seconds = [...new Set(bySecond.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  const pairs = shards.map((s) => s.summary.pairs);
  const totalPairs = sum(pairs);
  const last: Array<TimelinePoint | undefined> = shards.map(() => undefined);
  const lastSecond = bySecond.map((m) => [...m.keys()].reduce((a, b) => Math.max(a, b), -Infinity));
  const out: TimelinePoint[] = [];
  for (const sec of seconds) {
    const point: TimelinePoint = { t: Math.max(0, sec * 1000 - startedAt), coverage: 0, nodes: {}, polls: 0, handshakes: 0, errors: 0, reconnects: 0, phase: 'steady' };
    const nodeCoverage: Record<string, number> = {};
    for (const name of nodeNames) {
      point.nodes[name] = 0;
      nodeCoverage[name] = 0;
    }
    let hasNodeCoverage = true;
    let covered = 0;
    const phases = new Set<TimelinePoint['phase']>();
    shards.forEach((_, i) => {
      const here = bySecond[i]!.get(sec);
      if (here) {
        for (const p of here) {
          point.polls += p.polls;
          point.handshakes += p.handshakes;
          point.errors += p.errors;
          point.reconnects += p.reconnects;
        }
        last[i] = here[here.length - 1]!;
      }
      const state = sec > lastSecond[i]! ? undefined : last[i];
      if (!state) {
        // not running in this second: no covered pair, no connection
        phases.add(last[i] ? 'stopping' : 'registering');
        return;
      }
      covered += state.coverage * pairs[i]!;
      for (const name of nodeNames) point.nodes[name]! += state.nodes[name] ?? 0;
      if (state.nodeCoverage) for (const name of nodeNames) nodeCoverage[name]! += state.nodeCoverage[name] ?? 0;
      else hasNodeCoverage = false;
      phases.add(state.phase);
    });
    point.coverage = totalPairs ? covered / totalPairs : 0;
    if (hasNodeCoverage) point.nodeCoverage = nodeCoverage;
    point.phase = PHASE_ORDER.find((p) => phases.has(p)) ?? 'steady';
    out.push(point);
  }
  return out;
}

/**
 * Tentacles of a shard whose pair with node `n` was covered at the end: counted back from
 * the shard's matrix rows (shares rounded to 3 digits, so exact while a row holds fewer
 * than 500 tentacles, i.e. shards under 50,000 tentacles).
 */
function coveredTentacles(s: MergeInput, n: number): number {
  const m = s.matrix;
  let covered = 0;
  m.coveredShare.forEach((row, r) => {
    const size = Math.max(0, Math.min(m.bucketSize, s.summary.tentacles - r * m.bucketSize));
    covered += Math.round((row[n] ?? 0) * size);
  });
  return covered;
}

// ---- matrix ----

function mergeMatrix(shards: readonly MergeInput[], nodeNames: string[], T: number): TentacleNodeMatrix {
  const bucketSize = Math.max(1, Math.ceil(T / MAX_MATRIX_ROWS));
  // the shards' rows as runs of tentacles, in shard order (shard i's tentacles follow shard i-1's)
  const runs: { size: number; polled: number[]; covered: number[] }[] = [];
  for (const s of shards) {
    const m = s.matrix;
    m.polledShare.forEach((row, r) => {
      const size = Math.min(m.bucketSize, s.summary.tentacles - r * m.bucketSize);
      if (size > 0) runs.push({ size, polled: row, covered: m.coveredShare[r]! });
    });
  }
  const matrix: TentacleNodeMatrix = { nodes: [...nodeNames], bucketSize, polledShare: [], coveredShare: [] };
  let run = 0;
  let usedOfRun = 0;
  for (let start = 0; start < T; start += bucketSize) {
    const size = Math.min(bucketSize, T - start);
    const polled = new Array<number>(nodeNames.length).fill(0);
    const covered = new Array<number>(nodeNames.length).fill(0);
    let filled = 0;
    while (filled < size && run < runs.length) {
      const r = runs[run]!;
      const take = Math.min(size - filled, r.size - usedOfRun);
      for (let n = 0; n < nodeNames.length; n++) {
        polled[n]! += (r.polled[n] ?? 0) * take;
        covered[n]! += (r.covered[n] ?? 0) * take;
      }
      filled += take;
      usedOfRun += take;
      if (usedOfRun === r.size) {
        run++;
        usedOfRun = 0;
      }
    }
    matrix.polledShare.push(polled.map((v) => round(v / size, 3)));
    matrix.coveredShare.push(covered.map((v) => round(v / size, 3)));
  }
  return matrix;
}

/** As src/metrics/result-builder.ts: at most this many rows of tentacles. */
const MAX_MATRIX_ROWS = 100;

// ---- faults ----

function mergeFaults(shards: readonly MergeInput[], starts: number[], startedAt: number): FaultResult[] {
  const names: string[] = [];
  const byName = new Map<string, { fault: FaultResult; shard: number }[]>();
  shards.forEach((s, i) => {
    for (const f of s.faults) {
      let list = byName.get(f.name);
      if (!list) byName.set(f.name, (list = []));
      if (list.length === 0) names.push(f.name);
      list.push({ fault: f, shard: i });
    }
  });
  return names.map((name) => {
    const parts = byName.get(name)!;
    const f0 = parts[0]!.fault;
    const at = Math.min(...parts.map((p) => starts[p.shard]! + p.fault.atMs));
    const full = parts.map((p) => p.fault.timeToFullCoverageMs);
    const where = `faults[${name}]`;
    return {
      name,
      action: f0.action,
      target: f0.target,
      atMs: Math.max(0, Math.round(at - startedAt)),
      forMs: f0.forMs,
      affectedPairs: sum(parts.map((p) => p.fault.affectedPairs)),
      detectionMs: mergeQuantiles(parts.map((p) => p.fault.detectionMs), `${where}.detectionMs`),
      recoveryMs: mergeQuantiles(parts.map((p) => p.fault.recoveryMs), `${where}.recoveryMs`),
      timeToFullCoverageMs: full.some((v) => v === null) ? null : Math.max(...(full as number[])),
      queuedDuringFault: sum(parts.map((p) => p.fault.queuedDuringFault)),
      expired: sum(parts.map((p) => p.fault.expired)),
      lostAfterCollection: sum(parts.map((p) => p.fault.lostAfterCollection ?? 0)),
      reconnectAttempts: sum(parts.map((p) => p.fault.reconnectAttempts)),
      peakHandshakesPerSec: sum(parts.map((p) => p.fault.peakHandshakesPerSec)),
      backoff: f0.backoff,
      story: '',
      pass: parts.every((p) => p.fault.pass),
      reasons: [...new Set(parts.flatMap((p) => p.fault.reasons))],
    };
  });
}

// ---- REST API load ----

function mergeApiLoad(parts: ReadonlyArray<ApiLoadResult | null>): ApiLoadResult | null {
  const present = parts.filter((p): p is ApiLoadResult => p !== null);
  if (present.length <= 1) return present[0] ?? null;
  const requests = sum(present.map((p) => p.requests));
  const top = (k: 'p50' | 'p90' | 'p99' | 'max') => Math.max(...present.map((p) => p.latencyMs[k]));
  const perNode = present.some((p) => p.perNode === null) ? null : sumRecords(present.map((p) => p.perNode!));
  return {
    url: present[0]!.url,
    path: present[0]!.path,
    connections: sum(present.map((p) => p.connections)),
    durationMs: Math.max(...present.map((p) => p.durationMs)),
    requests,
    requestsPerSec: sum(present.map((p) => p.requestsPerSec)),
    latencyMs: {
      p50: top('p50'),
      p90: top('p90'),
      p99: top('p99'),
      max: top('max'),
      mean: requests ? sum(present.map((p) => p.latencyMs.mean * p.requests)) / requests : 0,
    },
    statusCounts: sumRecords(present.map((p) => p.statusCounts)),
    errors: sum(present.map((p) => p.errors)),
    timeouts: sum(present.map((p) => p.timeouts)),
    perNode,
  };
}

// ---- small helpers ----

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function sumOrNull(values: ReadonlyArray<number | null>): number | null {
  return values.some((v) => v === null) ? null : sum(values as number[]);
}

/** Synthetic registrations tried again after a lost answer, summed over the shards (absent when none). */
function registrationRetries(shards: readonly MergeInput[]): { lostAnswerRetries?: number; adopted?: number } {
  const retries = sum(shards.map((s) => s.summary.registrationMs.lostAnswerRetries ?? 0));
  return retries ? { lostAnswerRetries: retries, adopted: sum(shards.map((s) => s.summary.registrationMs.adopted ?? 0)) } : {};
}

function sumRecords(records: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function sumRequests(parts: ReadonlyArray<RequestCounts | null>): RequestCounts | null {
  const present = parts.filter((p): p is RequestCounts => p !== null);
  if (!present.length) return null;
  const k = (key: keyof RequestCounts) => sum(present.map((p) => p[key]));
  return { queued: k('queued'), collected: k('collected'), expired: k('expired'), lostAfterCollection: sum(present.map((p) => p.lostAfterCollection ?? 0)), answered: k('answered'), pendingAtEnd: k('pendingAtEnd') };
}

/** As src/metrics/result-builder.ts: min and mean over the steady part, `final` when there is none. */
function coverageStats(values: number[], final: number): CoverageStats {
  if (!values.length) return { final, min: final, mean: final };
  return { final, min: values.reduce((m, v) => Math.min(m, v), 1), mean: sum(values) / values.length };
}

function round(v: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Per error kind, the data of the example the merged Result keeps (the first shard's that has one), so message and data stay one example. */
function exampleData(shards: readonly MergeInput[]): Record<string, ErrorData> {
  const out: Record<string, ErrorData> = {};
  const taken = new Set<string>();
  for (const s of shards) {
    for (const kind of Object.keys(s.summary.errorExamples)) {
      if (taken.has(kind)) continue;
      taken.add(kind);
      const d = s.summary.errorExampleData?.[kind];
      if (d) out[kind] = d;
    }
  }
  return out;
}
