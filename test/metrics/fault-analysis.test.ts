/**
 * Fault analysis from hand-written event streams and timelines: who was affected, detection,
 * recovery, time to full coverage, queued/expired/lost work, and which fault a lost
 * connection is blamed on. Numbers only: the story text is the diagnosis' business.
 */
import t from 'tap';
import type { PollfleetEvent } from '../../src/core/events.js';
import { FaultAnalyzer, type AnalyzedFault, type FaultAnalysisPlan } from '../../src/metrics/fault-analysis.js';
import type { FaultResult, TimelinePoint } from '../../src/result/result.js';

const T0 = 5_000_000; // run start (epoch ms)
const RECEIVE_TIMEOUT = 5_000;
const QUEUE_TIMEOUT = 10_000;
const NODES = ['node1', 'node2', 'node3'];

// ---------- the one place that knows the analyzer's input types ----------

/** A fault as the analysis sees it; blocksTarget as a crash/stop/hang would set it. */
function fault(action: string, node: string | null, o: Partial<AnalyzedFault> = {}): AnalyzedFault {
  const target = node ?? 'route';
  return {
    name: `${action}@${target}`,
    action,
    target,
    node,
    forMs: 10_000,
    blocksTarget: ['crash', 'stop', 'hang', 'blackhole'].includes(action),
    losesQueuedWork: ['crash', 'stop'].includes(action),
    ...o,
  };
}

interface Harness {
  analyzer: FaultAnalyzer;
  /** Pairs "t:n" with an identified connection right now (what isConnected answers). */
  connected: Set<string>;
  feed(...events: PollfleetEvent[]): void;
  results(timeline?: TimelinePoint[]): FaultResult[];
}

/** `tentacles` tentacles, each with one direct entry per node (entry e -> node e) unless `entryNodes` says otherwise; all pairs connected. */
function harness(faults: AnalyzedFault[], o: { tentacles?: number; entryNodes?: (t: number) => number[] } = {}): Harness {
  const tentacles = o.tentacles ?? 2;
  const connected = new Set<string>();
  for (let tt = 0; tt < tentacles; tt++) for (let n = 0; n < NODES.length; n++) connected.add(`${tt}:${n}`);
  const plan: FaultAnalysisPlan = {
    faults,
    nodeNames: NODES,
    tentacles,
    entryNodes: o.entryNodes ?? (() => NODES.map((_, i) => i)),
    isConnected: (tt, n) => connected.has(`${tt}:${n}`),
    runStartedAt: T0,
    backoff: 'shortened',
    receiveRequestTimeoutMs: RECEIVE_TIMEOUT,
    pollingRequestQueueTimeoutMs: QUEUE_TIMEOUT,
  };
  const analyzer = new FaultAnalyzer(plan);
  return {
    analyzer,
    connected,
    feed: (...events) => events.forEach((e) => analyzer.record(e)),
    results: (timeline = []) => analyzer.results(timeline),
  };
}

// ---------- synthetic events (times relative to the run start) ----------

const closed = (tentacle: number, entry: number, rel: number, reason: 'error' | 'ended-by-peer' | 'stopped' = 'error'): PollfleetEvent =>
  ({ type: 'closed', at: T0 + rel, tentacle, entry, conn: 0, reason, wasIdentified: true, errorKind: 'tcp.reset' });
const connectStart = (tentacle: number, entry: number, rel: number): PollfleetEvent => ({ type: 'connect-start', at: T0 + rel, tentacle, entry, conn: 0 });
const identified = (tentacle: number, entry: number, rel: number): PollfleetEvent => ({ type: 'identified', at: T0 + rel, tentacle, entry, conn: 0 });
const tcpConnected = (tentacle: number, entry: number, rel: number): PollfleetEvent => ({ type: 'tcp-connected', at: T0 + rel, tentacle, entry, conn: 0, durationMs: 1 });
const lost = (owner: string, key: number, rel: number, enqueuedRel: number): PollfleetEvent => ({
  type: 'request-lost', at: T0 + rel, node: owner, owner, requestKey: key, subscription: 'poll://x/', enqueuedAt: T0 + enqueuedRel, written: false, errorKind: 'closed.by-peer',
});
const queued = (node: string, key: number, rel: number): PollfleetEvent =>
  ({ type: 'request-queued', at: T0 + rel, node, requestKey: key, subscription: 'poll://x/', service: 'IScriptServiceV2' });
const dispatched = (owner: string, key: number, rel: number, enqueuedRel: number): PollfleetEvent =>
  ({ type: 'request-dispatched', at: T0 + rel, node: owner, owner, requestKey: key, subscription: 'poll://x/', enqueuedAt: T0 + enqueuedRel });
const expired = (node: string, key: number, rel: number, enqueuedRel: number): PollfleetEvent =>
  ({ type: 'request-expired', at: T0 + rel, node, requestKey: key, subscription: 'poll://x/', enqueuedAt: T0 + enqueuedRel });

/** One point per second from `fromS` to `toS` with `coverage(second)` and `phase(second)`. */
function timeline(fromS: number, toS: number, coverage: (s: number) => number, phase: (s: number) => TimelinePoint['phase'] = () => 'steady'): TimelinePoint[] {
  const out: TimelinePoint[] = [];
  for (let s = fromS; s <= toS; s++) {
    out.push({ t: s * 1_000, coverage: coverage(s), nodes: {}, polls: 0, handshakes: 0, errors: 0, reconnects: 0, phase: phase(s) });
  }
  return out;
}

/** Within 0.2 % (HDR keeps 3 significant digits). */
const near = (a: number | null, b: number) => a !== null && Math.abs(a - b) <= Math.max(0.002 * b, 0.002);

t.test('a node crash: affected pairs, detection, recovery from the fault end, work lost, full coverage again', async (t) => {
  const h = harness([fault('crash', 'node2')]);
  h.analyzer.started(0, T0 + 10_000);
  h.feed(
    queued('node2', 3, 9_900), // queued before the fault, still pending when the process dies
    closed(0, 1, 10_050),
    closed(1, 1, 10_150),
    closed(0, 0, 10_060), // entry 0 is node1: not affected by node2's crash
    queued('node2', 1, 10_100),
    queued('node2', 2, 10_200),
    dispatched('node2', 2, 10_210, 10_200),
    queued('node1', 4, 10_300), // another node's work
    connectStart(0, 1, 11_000), connectStart(1, 1, 12_000), connectStart(0, 1, 13_000),
    connectStart(0, 0, 13_000), // not a detected pair
  );
  h.analyzer.ended(0, T0 + 20_000);
  h.feed(
    queued('node2', 5, 20_100), // after the fault: not "during"
    tcpConnected(0, 1, 20_250), // the TLS handshakes of the two recovering connections
    tcpConnected(1, 1, 20_450),
    identified(0, 1, 20_300),
    identified(1, 1, 20_500),
    expired('node2', 6, 21_000, 10_500), // queued during the fault, expired after it: counted
    expired('node2', 7, 21_000, 20_001), // queued after the fault ended: not counted
    expired('node2', 8, 20_000 + QUEUE_TIMEOUT + 1, 10_500), // too long after the end: not counted
    expired('node1', 9, 15_000, 10_300), // another node
  );
  const tl = timeline(0, 30, (s) => (s >= 10 && s < 21 ? 4 / 6 : 1), (s) => (s < 2 ? 'ramping' : s >= 10 && s < 20 ? 'fault' : 'steady'));
  const [r] = h.results(tl);
  t.equal(r!.atMs, 10_000);
  t.equal(r!.affectedPairs, 2, 'each tentacle\'s entry for node2');
  t.equal(r!.detectionMs.count, 2);
  t.ok(near(r!.detectionMs.min, 50) && near(r!.detectionMs.max, 150), `detection 50 and 150 ms (got ${r!.detectionMs.min}..${r!.detectionMs.max})`);
  t.equal(r!.recoveryMs.count, 2);
  t.ok(near(r!.recoveryMs.min, 300) && near(r!.recoveryMs.max, 500), `recovery counted from the fault end: 300 and 500 ms (got ${r!.recoveryMs.min}..${r!.recoveryMs.max})`);
  t.equal(r!.reconnectAttempts, 3, 'attempts of detected pairs until they recovered');
  t.equal(r!.peakHandshakesPerSec, 2, 'both handshakes in the same second');
  t.equal(r!.queuedDuringFault, 2, 'node2 work queued between start and end');
  t.equal(r!.expired, 3, '2 still queued when the process died (lost) + 1 expired');
  t.equal(r!.timeToFullCoverageMs, 1_000, 'first 100 % point at or after the last recovery (20.5 s) is 21 s: 1 s after the end');
  t.equal(r!.pass, true);
  t.same(r!.reasons, []);
});

t.test('a graceful stop loses the queue too; a drain or a latency fault does not', async (t) => {
  for (const [action, lost] of [['stop', 1], ['drain', 0], ['latency', 0]] as const) {
    const h = harness([fault(action, 'node2')]);
    h.analyzer.started(0, T0 + 1_000);
    h.feed(queued('node2', 1, 1_500));
    h.analyzer.ended(0, T0 + 2_000);
    t.equal(h.results()[0]!.expired, lost, `${action}: ${lost} lost`);
  }
});

t.test('blocksTarget: recovery counts from the fault end, otherwise from the moment the pair noticed', async (t) => {
  const run = (blocksTarget: boolean, entryNodes?: (t: number) => number[]) => {
    const h = harness([fault('drain', 'node2', { blocksTarget })], { tentacles: 1, ...(entryNodes ? { entryNodes } : {}) });
    h.analyzer.started(0, T0 + 10_000);
    h.feed(closed(0, 1, 10_100));
    h.analyzer.ended(0, T0 + 10_200);
    h.feed(identified(0, 1, 10_400));
    return h.results()[0]!;
  };
  const blocking = run(true);
  const notBlocking = run(false);
  t.ok(near(blocking.recoveryMs.max, 200), `blocks the target: 10.4 s - end 10.2 s = 200 ms (got ${blocking.recoveryMs.max})`);
  t.ok(near(notBlocking.recoveryMs.max, 300), `does not block: 10.4 s - noticed 10.1 s = 300 ms (got ${notBlocking.recoveryMs.max})`);
  // a balanced entry (-1) may land on another node at once: recovery counts from detection even when the fault blocks its node
  const balanced = run(true, () => [0, -1, 2]);
  t.ok(near(balanced.recoveryMs.max, 300), `balanced entry: from detection (got ${balanced.recoveryMs.max})`);
  // a pair noticing after the end of a blocking fault recovers from when it noticed
  const h = harness([fault('hang', 'node2')], { tentacles: 1 });
  h.analyzer.started(0, T0 + 10_000);
  h.analyzer.ended(0, T0 + 11_000);
  h.feed(closed(0, 1, 13_000), identified(0, 1, 13_250));
  const late = h.results()[0]!;
  t.ok(near(late.detectionMs.max, 3_000), `detected 3 s after the start (got ${late.detectionMs.max})`);
  t.ok(near(late.recoveryMs.max, 250), `recovery from max(end, noticed) (got ${late.recoveryMs.max})`);
});

t.test('a lost connection is blamed on the latest fault that could have caused it', async (t) => {
  // A: latency on node2 10-20 s; B: reset on node2 15-16 s (starts later, so it wins while both apply)
  const h = harness([fault('latency', 'node2'), fault('reset', 'node2', { forMs: 1_000 }), fault('crash', 'node3')], { tentacles: 4 });
  h.analyzer.started(0, T0 + 10_000);
  h.feed(closed(0, 1, 12_000)); // only A is running
  h.analyzer.started(1, T0 + 15_000);
  h.feed(closed(1, 1, 15_500)); // A and B running: B is the latest
  h.analyzer.ended(1, T0 + 16_000);
  h.feed(identified(0, 1, 17_000), identified(1, 1, 17_000));
  h.analyzer.ended(0, T0 + 20_000);
  // B ended 16 s + 5 s receive timeout = 21 s; A ended 20 s -> 25 s
  h.feed(closed(2, 1, 22_000)); // past B's window, inside A's: A
  h.feed(closed(3, 1, 20_000 + RECEIVE_TIMEOUT + 1)); // past both windows: nobody
  h.feed(closed(3, 1, 9_000)); // before any fault started: nobody
  h.feed(closed(0, 0, 12_500)); // node1 entry: no fault touches it
  h.feed(closed(3, 2, 12_600)); // node3's crash has not started: nobody
  const [a, b, c] = h.results(timeline(0, 30, () => 1));
  t.equal(a!.detectionMs.count, 2, 'A: tentacle 0 (12 s) and tentacle 2 (22 s)');
  t.equal(b!.detectionMs.count, 1, 'B: tentacle 1 (15.5 s)');
  t.ok(near(b!.detectionMs.max, 500), `B detected 500 ms after its own start (got ${b!.detectionMs.max})`);
  t.equal(c!.affectedPairs, 0, 'the crash never started');
  t.equal(a!.recoveryMs.count, 1, 'A: tentacle 0 came back; tentacle 2 never did');
  t.equal(a!.pass, false, 'a detected pair that never came back fails the fault');
  t.equal(a!.reasons.length, 1, 'coverage was whole again: the one reason is the pair that never came back');
  t.equal(b!.pass, true);
  t.equal(b!.recoveryMs.count, 1);
});

t.test('closes by the fleet itself (stopped) are nobody\'s fault; a pair is detected once', async (t) => {
  const h = harness([fault('crash', 'node1')], { tentacles: 1 });
  h.analyzer.started(0, T0 + 1_000);
  h.feed(closed(0, 0, 1_100, 'stopped'));
  t.equal(h.results()[0]!.detectionMs.count, 0);
  h.feed(closed(0, 0, 1_200, 'ended-by-peer'), closed(0, 0, 1_900));
  const r = h.results()[0]!;
  t.equal(r.detectionMs.count, 1);
  t.ok(near(r.detectionMs.max, 200), `the first close counts (got ${r.detectionMs.max})`);
});

t.test('affected pairs are those connected when the fault started; route faults reach every connected entry', async (t) => {
  const h = harness([fault('crash', 'node2')], { tentacles: 3 });
  h.connected.delete('1:1'); // tentacle 1 was not connected to node2
  h.analyzer.started(0, T0 + 1_000);
  h.feed(closed(1, 1, 1_100)); // not affected: not blamed
  const r = h.results()[0]!;
  t.equal(r.affectedPairs, 2);
  t.equal(r.detectionMs.count, 0);

  // one balanced entry per tentacle (-1): a route fault hits it when the tentacle is connected to any node,
  // a node fault only when it is connected to that node
  const balanced = () => [-1];
  const route = harness([fault('reset', null), fault('crash', 'node3')], { tentacles: 3, entryNodes: balanced });
  route.connected.clear();
  route.connected.add('0:0'); // tentacle 0 on node1
  route.connected.add('1:2'); // tentacle 1 on node3; tentacle 2 nowhere
  route.analyzer.started(0, T0 + 1_000);
  route.analyzer.started(1, T0 + 1_000);
  const [all, n3] = route.results();
  t.equal(all!.affectedPairs, 2, 'route fault: every tentacle connected somewhere');
  t.equal(n3!.affectedPairs, 1, 'node3 fault: only the tentacle that landed on node3');
});

t.test('time to full coverage: none when the fault is never undone or coverage never returns', async (t) => {
  const notUndone = harness([fault('crash', 'node2', { forMs: null })]);
  notUndone.analyzer.started(0, T0 + 5_000);
  const r1 = notUndone.results(timeline(0, 20, (s) => (s < 5 ? 1 : 0.5)))[0]!;
  t.equal(r1.timeToFullCoverageMs, null);
  t.equal(r1.pass, false, 'a fault not undone within the run cannot pass');

  const neverBack = harness([fault('crash', 'node2')]);
  neverBack.analyzer.started(0, T0 + 5_000);
  neverBack.analyzer.ended(0, T0 + 10_000);
  const r2 = neverBack.results(timeline(0, 20, (s) => (s < 5 ? 1 : 0.9)))[0]!;
  t.equal(r2.timeToFullCoverageMs, null);
  t.equal(r2.pass, false);

  const stoppingOnly = harness([fault('crash', 'node2')]);
  stoppingOnly.analyzer.started(0, T0 + 5_000);
  stoppingOnly.analyzer.ended(0, T0 + 10_000);
  const r3 = stoppingOnly.results(timeline(0, 20, (s) => (s < 5 || s >= 18 ? 1 : 0.5), (s) => (s >= 18 ? 'stopping' : 'steady')))[0]!;
  t.equal(r3.timeToFullCoverageMs, null, 'coverage seen while the fleet stops does not count');
});

t.test('time to full coverage: "full" is the best coverage before the fault when the run never had 100 %', async (t) => {
  const h = harness([fault('crash', 'node2')]);
  h.analyzer.started(0, T0 + 5_000);
  h.analyzer.ended(0, T0 + 10_000);
  // ramp-up points (coverage 1 while registering/ramping) do not set the bar; steady coverage was 0.5
  const tl = timeline(0, 20, (s) => (s < 2 ? 1 : s < 5 ? 0.5 : s < 13 ? 0.25 : 0.5), (s) => (s < 2 ? 'ramping' : 'steady'));
  const r = h.results(tl)[0]!;
  t.equal(r.timeToFullCoverageMs, 3_000, 'back to 0.5 at 13 s, 3 s after the end');
  t.equal(r.pass, true);
});

t.test('a fault that never started is reported as such and fails', async (t) => {
  const h = harness([fault('crash', 'node2'), fault('drain', 'node1')]);
  h.analyzer.started(1, T0 + 1_000);
  h.analyzer.ended(1, T0 + 2_000);
  h.feed(closed(0, 1, 1_500)); // would be the crash's, had it started
  const [never, ran] = h.results(timeline(0, 5, () => 1));
  t.equal(never!.name, 'crash@node2');
  t.equal(never!.atMs, 0);
  t.equal(never!.affectedPairs, 0);
  t.equal(never!.detectionMs.count, 0);
  t.equal(never!.timeToFullCoverageMs, null);
  t.equal(never!.pass, false);
  t.equal(never!.reasons.length, 1);
  t.equal(ran!.pass, true);
  t.equal(ran!.timeToFullCoverageMs, 0, 'coverage never dropped: full again at the end');
});

t.test('failures reported by the timeline fail the fault', async (t) => {
  const h = harness([fault('crash', 'node2')]);
  h.analyzer.failed(0, 'ignored: the fault had not started');
  h.analyzer.started(0, T0 + 1_000);
  h.analyzer.failed(0, 'could not kill node2');
  h.analyzer.ended(0, T0 + 2_000);
  const r = h.results(timeline(0, 5, () => 1))[0]!;
  t.equal(r.pass, false);
  t.same(r.reasons, ['could not kill node2']);
  t.same({ name: r.name, action: r.action, target: r.target, forMs: r.forMs, backoff: r.backoff }, { name: 'crash@node2', action: 'crash', target: 'node2', forMs: 10_000, backoff: 'shortened' });
});

t.test('both retry loops count: every attempt, and every TLS handshake attempt (quick retries included) in the peak', async (t) => {
  const h = harness([fault('reset', 'node2', { forMs: 0 })]);
  h.analyzer.started(0, T0 + 1_000);
  h.feed(closed(0, 1, 1_010), closed(1, 1, 1_020));
  // tentacle 0: three quick tries 1 s apart whose TLS is reset, then one that identifies
  h.feed(
    connectStart(0, 1, 2_000), tcpConnected(0, 1, 2_001),
    connectStart(1, 1, 2_100), tcpConnected(1, 1, 2_101), // both in second 1 since the start
    connectStart(0, 1, 3_000), tcpConnected(0, 1, 3_001),
    connectStart(0, 1, 4_000), tcpConnected(0, 1, 4_001),
    connectStart(0, 1, 5_000), tcpConnected(0, 1, 5_001), identified(0, 1, 5_050),
    identified(1, 1, 2_150),
    connectStart(0, 1, 6_000), tcpConnected(0, 1, 6_001), // after recovery: not counted
  );
  h.analyzer.ended(0, T0 + 1_000);
  const [r] = h.results();
  t.equal(r!.reconnectAttempts, 5, 'each try of the quick loop is an attempt');
  t.equal(r!.peakHandshakesPerSec, 2, 'two handshake attempts in one second, though only one identified then');
});

t.test('requests lost after collection are counted for the fault of their node, within the aftermath', async (t) => {
  const h = harness([fault('reset', 'node2', { forMs: 1_000 })]);
  h.analyzer.started(0, T0 + 1_000);
  h.feed(queued('node2', 1, 1_100), lost('node2', 1, 1_200, 1_100));
  h.analyzer.ended(0, T0 + 2_000);
  h.feed(
    lost('node2', 2, 2_500, 2_400), // a zombie found shortly after the end: counted
    lost('node1', 3, 2_500, 2_400), // another node
    lost('node2', 4, 2_000 + QUEUE_TIMEOUT + 1, 2_400), // too long after: not counted
  );
  const [r] = h.results();
  t.equal(r!.lostAfterCollection, 2);
  t.equal(r!.expired, 0, 'a lost request is not also expired');
});

t.test('requests lost after the run ended (its own shutdown) are no fault\'s', async (t) => {
  let end: number | null = null;
  const analyzer = new FaultAnalyzer({
    faults: [fault('reset', 'node2', { forMs: 1_000 })], nodeNames: NODES, tentacles: 1, entryNodes: () => NODES.map((_, i) => i),
    isConnected: () => true, runStartedAt: T0, backoff: 'shortened', receiveRequestTimeoutMs: RECEIVE_TIMEOUT,
    pollingRequestQueueTimeoutMs: QUEUE_TIMEOUT, runEndedAt: () => end,
  });
  analyzer.started(0, T0 + 1_000);
  analyzer.ended(0, T0 + 2_000);
  analyzer.record(lost('node2', 1, 2_500, 2_400));
  end = T0 + 3_000;
  analyzer.record(lost('node2', 2, 2_900, 2_400)); // before the end, reported late: counted
  analyzer.record(lost('node2', 3, 3_100, 2_400)); // in the shutdown: not counted
  t.equal(analyzer.results([])[0]!.lostAfterCollection, 2);
});
