import t from 'tap';
import type { PollfleetEvent } from '../../src/core/events.js';
import { Recorder, type RecorderPlan } from '../../src/metrics/recorder.js';
import { buildResult, type RunFacts } from '../../src/metrics/result-builder.js';
import { DurationHistogram } from '../../src/result/histogram.js';
import { mergeQuantiles, mergeResults, type MergeInput } from '../../src/result/merge.js';
import type { FaultResult, Quantiles } from '../../src/result/result.js';
import { resultSchema } from '../../src/result/result-schema.js';

// Shards merge exactly: a stream of synthetic durations split over two histograms / two
// Results gives the same figures as one fed the whole stream. No sockets, no clock.

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** A duration in ms spread log-uniformly from 10 µs to 100 s. */
function duration(rnd: () => number): number {
  return 10 ** (rnd() * 7 - 2);
}

const figures = (q: Quantiles) => ({ ...q, histogram: undefined });

t.test('two histograms merge into the one fed the whole stream', async (t) => {
  const rnd = random(1);
  const whole = new DurationHistogram();
  const a = new DurationHistogram();
  const b = new DurationHistogram();
  for (let i = 0; i < 5_000; i++) {
    const ms = duration(rnd);
    whole.recordMs(ms);
    (rnd() < 0.3 ? a : b).recordMs(ms);
  }
  const merged = mergeQuantiles([a.quantiles(), b.quantiles()]);
  t.equal(merged.count, 5_000);
  t.equal(a.count + b.count, 5_000);
  t.same(figures(merged), figures(whole.quantiles()), 'count, min, p50, p90, p99, max, mean');
  t.equal(new DurationHistogram(merged.histogram!).count, 5_000, 'the merged histogram is encoded too');
  t.not(figures(a.quantiles()).p99, figures(whole.quantiles()).p99, '(the shards alone differ)');
  t.same(mergeQuantiles([a.quantiles(), new DurationHistogram().quantiles()]), a.quantiles(), 'an empty part adds nothing');
  t.same(figures(mergeQuantiles([])), figures(new DurationHistogram().quantiles()), 'nothing merges to empty');
});

t.test('a histogram-less (version 1) part with values cannot be merged exactly', async (t) => {
  const h = new DurationHistogram();
  h.recordMs(3);
  t.throws(() => mergeQuantiles([h.quantiles(), { ...h.quantiles(), histogram: null }], 'summary.pollGapMs'), {
    kind: 'input.invalid',
    message: /shard 2: summary\.pollGapMs has 1 values but no encoded histogram/,
  });
});

// ---- whole Results: one Recorder fed every tentacle vs two fed half each ----

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const NODES = ['node1', 'node2'];
const TENTACLES = 6;
const SECONDS = 8;

interface Tagged {
  tentacle: number;
  e: PollfleetEvent;
}

/** The run's events, each tagged with the tentacle it belongs to (the shard that sees it). */
function runEvents(): Tagged[] {
  const rnd = random(7);
  const out: Tagged[] = [];
  let requestKey = 0;
  for (let g = 0; g < TENTACLES; g++) {
    // tentacles 1 and 5 (one per shard) registered after a lost answer; 5's retry adopted its machine
    const retried = g === 1 || g === 5 ? { lostAnswerRetries: 1, ...(g === 5 ? { adopted: true } : {}) } : {};
    out.push({ tentacle: g, e: { type: 'registration', at: T0 + 50 + g, tentacle: g, ok: true, durationMs: duration(rnd), ...retried } });
    if (g === 4) out.push({ tentacle: g, e: { type: 'registration', at: T0 + 60 + g, tentacle: g, ok: false, durationMs: 3, status: 503, errorKind: 'api.error', message: 'HTTP 503' } });
    NODES.forEach((node, n) => {
      const conn = g * 10 + n;
      const base = { tentacle: g, entry: n, conn };
      const at = T0 + 400 + g * 37 + n * 11;
      out.push({ tentacle: g, e: { type: 'connect-start', at, ...base } });
      out.push({ tentacle: g, e: { type: 'tcp-connected', at: at + 1, ...base, durationMs: duration(rnd) / 100 } });
      out.push({ tentacle: g, e: { type: 'tls-done', at: at + 6, ...base, durationMs: duration(rnd) / 10, protocol: 'TLSv1.3', cipher: 'x', peerThumbprint: 'x' } });
      out.push({ tentacle: g, e: { type: 'identified', at: at + 6 + rnd() * 3, ...base } });
      for (let p = at + 300; p < T0 + SECONDS * 1000; p += 400 + rnd() * 600) {
        out.push({ tentacle: g, e: { type: 'polled', at: p, ...base, kind: 'null' } });
        const subscription = `poll://t${g}/`;
        const enqueuedAt = p - duration(rnd) / 100;
        out.push({ tentacle: g, e: { type: 'request-queued', at: enqueuedAt, node, requestKey: ++requestKey, subscription, service: 's' } });
        out.push({ tentacle: g, e: { type: 'request-dispatched', at: p, node, owner: node, requestKey, subscription, enqueuedAt } });
        out.push({ tentacle: g, e: { type: 'request-answered', at: p + 2, node, owner: node, requestKey, subscription, ok: true } });
      }
      // tentacle 3 loses its node2 connection half-way and does not come back: coverage drops
      if (g === 3 && n === 1) {
        out.push({ tentacle: g, e: { type: 'closed', at: T0 + 4500, ...base, reason: 'error', wasIdentified: true, errorKind: 'tcp.reset', message: 'read ECONNRESET' } });
        out.push({ tentacle: g, e: { type: 'backoff', at: T0 + 4501, ...base, delayMs: 1000 } });
      }
    });
  }
  // a closed connection polls no more
  const cut = out.filter((x) => !(x.tentacle === 3 && 'entry' in x.e && x.e.entry === 1 && x.e.at > T0 + 4500 && x.e.type !== 'backoff'));
  const keep = new Set(cut);
  return out.filter((x) => keep.has(x) || x.e.type === 'closed').sort((x, y) => x.e.at - y.e.at);
}

/** A Result as a run of `tentacles` (global indexes) would build it, from the same events. */
function shardResult(events: Tagged[], tentacles: number[], startOffsetMs = 0): MergeInput {
  const local = new Map(tentacles.map((g, i) => [g, i]));
  const plan: RecorderPlan = {
    tentacles: tentacles.length,
    nodeNames: NODES,
    pairSource: 'tentacle',
    entryNode: (_t, entry) => entry,
    queueGroups: NODES.map((_, n) => [n]),
    stalenessMs: 2000,
  };
  const start = T0 + startOffsetMs;
  const rec = new Recorder(plan, start);
  const mine = events.filter((x) => local.has(x.tentacle));
  let i = 0;
  for (let s = 0; s <= SECONDS; s++) {
    const at = start + s * 1000;
    for (; i < mine.length && mine[i]!.e.at <= at; i++) {
      const e = mine[i]!.e;
      rec.record('tentacle' in e ? ({ ...e, tentacle: local.get(e.tentacle)! } as PollfleetEvent) : e);
    }
    rec.sample(at, s < 1 ? 'ramping' : s === SECONDS ? 'stopping' : 'steady');
  }
  const facts: RunFacts = {
    name: 'merge', route: 'direct', queue: 'per-node', target: 'embedded', balancer: null, scenario: {}, shortened: [], toolVersion: 'test',
    startedAt: start, finishedAt: start + SECONDS * 1000, finalAt: start + (SECONDS - 1) * 1000, interrupted: false,
    nodes: NODES.map((name, n) => ({ name, address: `127.0.0.1:${10943 + n}`, apiUrl: null })), nodeSideMeasured: true,
  };
  return buildResult(rec, facts);
}

t.test('two shards of a run merge into the Result of the whole run', async (t) => {
  const events = runEvents();
  const whole = shardResult(events, [0, 1, 2, 3, 4, 5]);
  const a = shardResult(events, [0, 1, 2]);
  const b = shardResult(events, [3, 4, 5]);
  const merged = mergeResults([a, b]);

  t.ok(resultSchema.safeParse({ ...merged, diagnosis: [], thresholds: [], verdict: { pass: true, reasons: [] } }).success, 'the merged Result is a valid Result');
  const s = whole.summary;
  t.ok(s.handshakeMs.tcp.count > 0 && s.pickupMs!.count > 0 && s.pollGapMs.count > 0 && s.registrationMs.count > 0, 'the stream measured something');
  t.ok(s.coverage.final < 1, 'and lost a pair');
  for (const q of [s.pickupMs!, s.handshakeMs.tcp, s.handshakeMs.tls, s.handshakeMs.identify, s.registrationMs, s.pollGapMs, ...whole.nodes.map((n) => n.pickupMs!)]) {
    t.type(q.histogram, 'string', 'every histogram of a built Result is encoded');
  }

  // run-wide: histograms decoded and added, counters summed, coverage recomputed
  t.same(merged.summary, whole.summary, 'summary');
  t.same(merged.nodes, whole.nodes, 'nodes: pickup, counters, coverage, max connected');
  t.same(merged.timeline, whole.timeline, 'timeline aligned on wall-clock seconds');
  t.same(merged.matrix, whole.matrix, 'tentacle x node matrix');
  t.equal(merged.startedAt, whole.startedAt);
  t.equal(merged.durationMs, whole.durationMs);
  t.same(figures(merged.summary.pollGapMs), figures(whole.summary.pollGapMs));
  t.equal(merged.summary.errors['tcp.reset'], 1);
  t.equal(merged.summary.registrationMs.failures['HTTP 503'], 1);
  t.equal(merged.summary.registrationMs.lostAnswerRetries, 2, 'lost-answer retries summed over the shards');
  t.equal(merged.summary.registrationMs.adopted, 1);
});

t.test('shards that started in different seconds line up on the wall clock', async (t) => {
  const events = runEvents();
  const a = shardResult(events, [0, 1, 2]);
  const b = shardResult(events, [3, 4, 5], 1000);
  const merged = mergeResults([a, b]);
  t.equal(merged.startedAt, a.startedAt, 'the earliest start');
  t.equal(merged.finishedAt, b.finishedAt, 'the latest end');
  t.equal(merged.timeline.length, SECONDS + 2, 'one point per wall-clock second either shard sampled');
  // second 0: only shard a runs; b's pairs count as not covered, and the second is not steady
  t.equal(merged.timeline[0]!.coverage, a.timeline[0]!.coverage / 2);
  t.equal(merged.timeline[0]!.phase, 'registering');
  const s3 = merged.timeline[3]!;
  t.equal(s3.t, 3000);
  t.equal(s3.coverage, (a.timeline[3]!.coverage + b.timeline[2]!.coverage) / 2, 'pair-weighted (equal pair counts)');
  t.equal(s3.polls, a.timeline[3]!.polls + b.timeline[2]!.polls);
  t.equal(s3.nodes['node1'], a.timeline[3]!.nodes['node1']! + b.timeline[2]!.nodes['node1']!);
  t.equal(merged.timeline.at(-1)!.phase, 'stopping');
});

t.test('fault figures: detection and recovery histograms merged, counts summed', async (t) => {
  const rnd = random(3);
  const hists = () => ({ detection: new DurationHistogram(), recovery: new DurationHistogram() });
  const whole = hists();
  const parts = [hists(), hists()];
  for (let i = 0; i < 500; i++) {
    const d = duration(rnd);
    const r = duration(rnd);
    whole.detection.recordMs(d);
    whole.recovery.recordMs(r);
    const p = parts[i % 3 === 0 ? 0 : 1]!;
    p.detection.recordMs(d);
    p.recovery.recordMs(r);
  }
  const fault = (h: ReturnType<typeof hists>, over: Partial<FaultResult>): FaultResult => ({
    name: 'crash@node2', action: 'crash', target: 'node2', atMs: 2000, forMs: 3000, affectedPairs: h.detection.count,
    detectionMs: h.detection.quantiles(), recoveryMs: h.recovery.quantiles(), timeToFullCoverageMs: 1500, queuedDuringFault: 4, expired: 1, lostAfterCollection: 0,
    reconnectAttempts: 9, peakHandshakesPerSec: 3, backoff: 'shortened', story: 'shard prose', pass: true, reasons: [], ...over,
  });
  const events = runEvents();
  const a = { ...shardResult(events, [0, 1, 2]), faults: [fault(parts[0]!, {})] };
  const b = { ...shardResult(events, [3, 4, 5]), faults: [fault(parts[1]!, { timeToFullCoverageMs: 2500, pass: false, reasons: ['coverage did not return'] })] };
  const [f] = mergeResults([a, b]).faults;
  t.same(figures(f!.detectionMs), figures(whole.detection.quantiles()));
  t.same(figures(f!.recoveryMs), figures(whole.recovery.quantiles()));
  t.equal(f!.affectedPairs, 500);
  t.equal(f!.atMs, 2000);
  t.equal(f!.queuedDuringFault, 8);
  t.equal(f!.expired, 2);
  t.equal(f!.reconnectAttempts, 18);
  t.equal(f!.timeToFullCoverageMs, 2500, 'the latest shard');
  t.equal(f!.pass, false);
  t.same(f!.reasons, ['coverage did not return']);
  t.equal(f!.story, '', 'no shard prose with merged numbers');
});

t.test('shards of different runs are refused', async (t) => {
  const events = runEvents();
  const a = shardResult(events, [0, 1, 2]);
  t.throws(() => mergeResults([a, { ...a, route: 'alb' }]), { kind: 'input.invalid', message: /route "direct" vs "alb"/ });
  t.throws(() => mergeResults([a, { ...a, nodes: a.nodes.slice(1) }]), { kind: 'input.invalid', message: /shard 2 has nodes node2/ });
  t.throws(() => mergeResults([]), { kind: 'input.invalid', message: /no Result to merge/ });
});

t.test('shards written by --shard i/n merge in slice order, and only as one complete set', async (t) => {
  const events = runEvents();
  const mark = (r: MergeInput, index: number, first: number, size: number): MergeInput => ({ ...r, shard: { index, count: 3, firstTentacle: first, tentacles: size, totalTentacles: 6 } });
  const a = mark(shardResult(events, [0, 1]), 1, 0, 2);
  const b = mark(shardResult(events, [2, 3]), 2, 2, 2);
  const c = mark(shardResult(events, [4, 5]), 3, 4, 2);
  const whole = shardResult(events, [0, 1, 2, 3, 4, 5]);
  const merged = mergeResults([c, a, b]);
  t.same(merged.matrix, whole.matrix, 'given out of order, the rows are still in tentacle order');
  t.same(merged.summary, whole.summary);
  t.same(merged.merged, { shards: 3 });
  t.equal(merged.shard, undefined, 'the merged Result is not a shard');
  t.throws(() => mergeResults([a, c]), /shard 2\/3 missing/);
  t.throws(() => mergeResults([a, b, b]), /shard 2\/3 is given twice/);
  t.throws(() => mergeResults([a, b, shardResult(events, [4, 5])]), /some Results are shards/);
  t.throws(() => mergeResults([a, b, { ...c, shard: { ...c.shard!, count: 4 } }]), /not one run/);
  t.throws(() => mergeResults([a, b, { ...c, shard: { ...c.shard!, tentacles: 3 } }]), /do not add up/);
});

t.test('merged harness figures are the worst shard\'s, and saturated when any shard was', async (t) => {
  const events = runEvents();
  const proc = (p99: number, cpu: number) => ({ loopDelayMs: { p50: 1, p99, max: p99 * 2 }, cpuShare: cpu, cpuCores: 2 });
  const a = { ...shardResult(events, [0, 1, 2]), harness: { fleet: proc(8, 0.2), nodes: null, saturated: false, reasons: [] as string[] } };
  const b = { ...shardResult(events, [3, 4, 5]), harness: { fleet: proc(90, 0.5), nodes: null, saturated: true, reasons: ['loop delay p99 90 ms > 50 ms'] } };
  const h = mergeResults([a, b]).harness!;
  t.equal(h.fleet.loopDelayMs.p99, 90);
  t.equal(h.fleet.cpuShare, 0.5);
  t.equal(h.saturated, true);
  t.same(h.reasons, ['Result 2: loop delay p99 90 ms > 50 ms']);
  // While held: the worst shard by its own steady figure, which need not be the shard that lagged most while ramping.
  const withHeld = (r: typeof a, p99: number) => ({ ...r, harness: { ...r.harness, fleet: { ...r.harness.fleet, steadyLoopDelayMs: { p50: 1, p99, max: p99 } } } });
  const held = mergeResults([withHeld(a, 30), withHeld(b, 6)]).harness!;
  t.equal(held.fleet.loopDelayMs.p99, 90, 'whole run: shard 2');
  t.same(held.fleet.steadyLoopDelayMs, { p50: 1, p99: 30, max: 30 }, 'while held: shard 1');
  t.equal(mergeResults([withHeld(a, 30), b]).harness!.fleet.steadyLoopDelayMs, undefined, 'a shard without the figure: none merged');
});
