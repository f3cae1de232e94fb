/**
 * The Recorder folds a synthetic event stream into pair state, counters and histograms.
 * No sockets: every event is written by hand, every expectation computed by hand.
 */
import t, { type Test } from 'tap';
import type { PollfleetEvent } from '../../src/core/events.js';
import { Recorder, type RecorderPlan } from '../../src/metrics/recorder.js';

const T0 = 1_000_000; // run start (epoch ms; any value works, nothing reads the clock here)
const STALE = 60_000;

/** A recorder for `tentacles` x `nodes`; node-side pairs, one queue per node, unless overridden. */
function recorder(o: Partial<RecorderPlan> & { nodes?: number } = {}): Recorder {
  const n = o.nodes ?? 3;
  const nodeNames = o.nodeNames ?? Array.from({ length: n }, (_, i) => `node${i + 1}`);
  const plan: RecorderPlan = {
    tentacles: 2,
    nodeNames,
    pairSource: 'node',
    entryNode: (_t, e) => e,
    queueGroups: nodeNames.map((_, i) => [i]),
    stalenessMs: STALE,
    ...o,
  };
  const rec = new Recorder(plan, T0);
  for (let i = 0; i < plan.tentacles; i++) rec.mapSubscription(sub(i), i);
  return rec;
}

const sub = (tentacle: number) => `poll://tentacle${tentacle}/`;

/** Node-side events for connection `connId` of tentacle `tentacle` on `node`. */
const nodeIdentified = (node: string, connId: number, tentacle: number, at: number): PollfleetEvent =>
  ({ type: 'node-identified', at, node, connId, subscription: sub(tentacle), thumbprint: 'AB' });
const nodeSent = (node: string, connId: number, tentacle: number, at: number, kind: 'null' | 'request' = 'null'): PollfleetEvent =>
  ({ type: 'node-sent', at, node, connId, subscription: sub(tentacle), kind });
const nodeClosed = (node: string, connId: number, at: number): PollfleetEvent =>
  ({ type: 'node-closed', at, node, connId, reason: 'ended-by-peer' });

function feed(rec: Recorder, events: PollfleetEvent[]): void {
  for (const e of events) rec.record(e);
}

/** Within 0.2 % (HDR keeps 3 significant digits). */
function near(t: Test, actual: number | null, expected: number, what: string): void {
  t.ok(actual !== null && Math.abs(actual - expected) <= Math.max(0.002 * expected, 0.002), `${what}: ${actual} ~ ${expected}`);
}

t.test('a pair is covered while identified and polled within the staleness limit', async (t) => {
  const rec = recorder({ tentacles: 1, nodes: 2 });
  feed(rec, [nodeIdentified('node1', 1, 0, T0 + 1_000), nodeIdentified('node2', 7, 0, T0 + 1_000)]);
  t.equal(rec.isCovered(0, 0, T0 + 1_000), true, 'identified = covered');
  t.equal(rec.isCovered(0, 0, T0 + 1_000 + STALE), true, 'exactly at the staleness limit: still covered');
  t.equal(rec.isCovered(0, 0, T0 + 1_000 + STALE + 1), false, 'a pair whose last activity is older than stalenessMs is uncovered');
  // a poll on node1 refreshes node1 only
  feed(rec, [nodeSent('node1', 1, 0, T0 + 50_000)]);
  t.equal(rec.isCovered(0, 0, T0 + 1_000 + STALE + 1), true, 'the poll refreshed node1');
  t.equal(rec.isCovered(0, 1, T0 + 1_000 + STALE + 1), false, 'node2 was not polled: stale');
  t.match(rec.snapshot(T0 + 1_000 + STALE + 1), { covered: 1, connected: [1, 1] }, 'stale pairs stay connected but are not covered');
  t.equal(rec.isCovered(0, 0, T0 + 50_000 + STALE + 1), false, 'stale again after the poll ages out');
});

t.test('a closed connection uncovers its pair; a second connection keeps it covered', async (t) => {
  const rec = recorder({ tentacles: 1, nodes: 1 });
  feed(rec, [nodeIdentified('node1', 1, 0, T0 + 100), nodeIdentified('node1', 2, 0, T0 + 200)]);
  t.equal(rec.pairConns[0], 2);
  feed(rec, [nodeClosed('node1', 1, T0 + 300)]);
  t.equal(rec.isCovered(0, 0, T0 + 300), true, 'one connection left');
  feed(rec, [nodeClosed('node1', 2, T0 + 400)]);
  t.equal(rec.isCovered(0, 0, T0 + 400), false, 'no identified connection: uncovered, however fresh');
  feed(rec, [nodeClosed('node1', 2, T0 + 401), nodeClosed('node1', 99, T0 + 402)]);
  t.equal(rec.pairConns[0], 0, 'a repeated or unknown close does not go negative');
});

t.test('node events for unknown subscriptions or nodes are ignored; subscriptions match case-insensitively', async (t) => {
  const rec = recorder({ tentacles: 1, nodes: 1 });
  feed(rec, [
    { type: 'node-identified', at: T0, node: 'node1', connId: 1, subscription: 'poll://stranger/', thumbprint: 'AB' },
    { type: 'node-identified', at: T0, node: 'node9', connId: 1, subscription: sub(0), thumbprint: 'AB' },
  ]);
  t.equal(rec.pairConns[0], 0);
  feed(rec, [{ type: 'node-identified', at: T0, node: 'node1', connId: 2, subscription: sub(0).toUpperCase(), thumbprint: 'AB' }]);
  t.equal(rec.pairConns[0], 1);
});

t.test('a crashed node loses every connection at once (no node-closed events follow)', async (t) => {
  const rec = recorder({ tentacles: 2, nodes: 2 });
  feed(rec, [
    nodeIdentified('node1', 1, 0, T0), nodeIdentified('node1', 2, 1, T0),
    nodeIdentified('node2', 1, 0, T0), nodeIdentified('node2', 2, 1, T0),
    { type: 'node-state', at: T0 + 10, node: 'node1', state: 'crashed' },
  ]);
  t.match(rec.snapshot(T0 + 10), { covered: 2, connected: [0, 2] });
  feed(rec, [{ type: 'node-state', at: T0 + 20, node: 'node2', state: 'hung' }]);
  t.same(rec.snapshot(T0 + 20).connected, [0, 2], 'a hang keeps the connections (timeouts detect it)');
});

t.test('queue groups: with a shared queue one live pair covers every node of the group', async (t) => {
  const shared = recorder({ tentacles: 2, nodes: 3, queueGroups: [[0, 1, 2], [0, 1, 2], [0, 1, 2]] });
  const perNode = recorder({ tentacles: 2, nodes: 3 });
  for (const rec of [shared, perNode]) feed(rec, [nodeIdentified('node1', 1, 0, T0)]); // tentacle 0 -> node1 only
  t.same(shared.snapshot(T0), { covered: 3, connected: [1, 0, 0], coveredPerNode: [1, 1, 1] }, 'shared: tentacle 0 covered on all 3 nodes, tentacle 1 on none');
  t.same(perNode.snapshot(T0), { covered: 1, connected: [1, 0, 0], coveredPerNode: [1, 0, 0] }, 'per-node: only (tentacle 0, node1)');
  t.equal(shared.isCovered(0, 2, T0 + STALE + 1), false, 'a stale pair does not cover its group');
});

t.test('tentacle-side pairs: entry -> node, balanced entries count for no node', async (t) => {
  // entry 0 -> node1, entry 1 -> node2, entry 2 -> a balanced address (-1)
  const rec = recorder({ tentacles: 2, nodes: 2, pairSource: 'tentacle', entryNode: (_t, e) => (e < 2 ? e : -1) });
  const ev = (type: 'connect-start' | 'identified', tentacle: number, entry: number, conn: number, at: number): PollfleetEvent =>
    ({ type, at, tentacle, entry, conn });
  feed(rec, [
    ev('connect-start', 0, 0, 1, T0), ev('identified', 0, 0, 1, T0 + 10),
    ev('connect-start', 0, 1, 2, T0), ev('identified', 0, 1, 2, T0 + 10),
    ev('connect-start', 1, 2, 3, T0), ev('identified', 1, 2, 3, T0 + 10),
    // node events are not the pair source here: ignored for pairs
    nodeIdentified('node1', 1, 1, T0 + 10),
  ]);
  t.match(rec.snapshot(T0 + 10), { covered: 2, connected: [1, 1] }, 'tentacle 1 polls only a balanced address');
  t.equal(rec.pairPolled[0], 0, 'identified is not polled');
  feed(rec, [{ type: 'polled', at: T0 + 5_000, tentacle: 0, entry: 0, conn: 1, kind: 'null' }]);
  t.equal(rec.pairPolled[0], 1, 'polled marks the pair');
  t.equal(rec.pairActivity[0], T0 + 5_000);
  t.equal(rec.isCovered(0, 1, T0 + 10 + STALE + 1), false, 'entry 1 never polled: stale');
  t.equal(rec.isCovered(0, 0, T0 + 10 + STALE + 1), true, 'entry 0 polled at 5 s: fresh');
  // a connection that closes before it was identified does not take a pair down
  feed(rec, [
    ev('connect-start', 0, 0, 4, T0 + 6_000),
    { type: 'closed', at: T0 + 6_100, tentacle: 0, entry: 0, conn: 4, reason: 'error', wasIdentified: false, errorKind: 'tcp.refused' },
  ]);
  t.equal(rec.pairConns[0], 1, 'unidentified close: no change');
  feed(rec, [{ type: 'closed', at: T0 + 7_000, tentacle: 0, entry: 0, conn: 1, reason: 'ended-by-peer', wasIdentified: true }]);
  t.equal(rec.pairConns[0], 0, 'identified close: pair down');
  t.equal(rec.isCovered(0, 0, T0 + 7_000), false);
});

t.test('pickup latency is enqueue -> dispatch, recorded on the owner node', async (t) => {
  const rec = recorder({ tentacles: 1, nodes: 2 });
  const dispatched = (node: string, owner: string, key: number, enqueuedAt: number, at: number): PollfleetEvent =>
    ({ type: 'request-dispatched', at, node, owner, requestKey: key, subscription: sub(0), enqueuedAt });
  feed(rec, [
    { type: 'request-queued', at: T0, node: 'node1', requestKey: 1, subscription: sub(0), service: 'IScriptServiceV2' },
    { type: 'request-queued', at: T0, node: 'node1', requestKey: 2, subscription: sub(0), service: 'IScriptServiceV2' },
    { type: 'request-queued', at: T0, node: 'node2', requestKey: 1, subscription: sub(0), service: 'IScriptServiceV2' },
    dispatched('node1', 'node1', 1, T0, T0 + 100),
    dispatched('node1', 'node1', 2, T0, T0 + 300),
    // a shared queue: node1's connection collects node2's work; the latency belongs to node2 (the owner)
    dispatched('node1', 'node2', 1, T0, T0 + 2_000),
    // clock skew between processes never gives a negative latency
    dispatched('node2', 'node2', 2, T0 + 10, T0 + 5),
  ]);
  const [n1, n2] = rec.nodes;
  t.equal(n1!.queued, 2);
  t.equal(n1!.collected, 2);
  t.equal(n2!.queued, 1);
  t.equal(n2!.collected, 2);
  const q1 = n1!.pickup.quantiles();
  t.equal(q1.count, 2);
  near(t, q1.min, 100, 'node1 min');
  near(t, q1.max, 300, 'node1 max');
  near(t, q1.mean, 200, 'node1 mean');
  const q2 = n2!.pickup.quantiles();
  near(t, q2.max, 2_000, 'node2 max');
  t.ok(q2.min! <= 0.001, `negative latency clamped to ~0 (got ${q2.min})`);
});

t.test('expiries, answers and node-side polls are counted per node', async (t) => {
  const rec = recorder({ tentacles: 1, nodes: 2 });
  feed(rec, [
    nodeIdentified('node1', 1, 0, T0),
    { type: 'request-expired', at: T0 + 120_000, node: 'node2', requestKey: 1, subscription: sub(0), enqueuedAt: T0 },
    { type: 'request-expired', at: T0 + 121_000, node: 'node2', requestKey: 2, subscription: sub(0), enqueuedAt: T0 },
    { type: 'request-expired', at: T0 + 121_000, node: 'node1', requestKey: 3, subscription: sub(0), enqueuedAt: T0 },
    { type: 'request-answered', at: T0 + 1, node: 'node1', owner: 'node2', requestKey: 4, subscription: sub(0), ok: true },
    { type: 'request-answered', at: T0 + 1, node: 'node1', owner: 'node2', requestKey: 5, subscription: sub(0), ok: false },
    nodeSent('node1', 1, 0, T0 + 10), nodeSent('node1', 1, 0, T0 + 20, 'request'),
    nodeSent('node2', 55, 0, T0 + 30), // an unidentified connection still counts as the node's poll
  ]);
  t.same(rec.nodes.map((n) => [n.expired, n.answered, n.polls]), [[1, 0, 2], [2, 1, 1]]);
  t.equal(rec.pairPolled[0], 1, 'node1 polled tentacle 0');
  t.equal(rec.pairPolled[1], 0, 'node2 sent on a connection it never identified: no pair');
});

t.test('requests lost after collection are counted on their owner; one never written is collected all the same', async (t) => {
  const rec = recorder({ tentacles: 1, nodes: 2 });
  const lost = (key: number, written: boolean): PollfleetEvent => ({
    type: 'request-lost', at: T0 + 5, node: 'node1', owner: 'node2', requestKey: key, subscription: sub(0), enqueuedAt: T0, written, errorKind: 'closed.by-peer',
  });
  feed(rec, [
    { type: 'request-dispatched', at: T0 + 1, node: 'node1', owner: 'node2', requestKey: 1, subscription: sub(0), enqueuedAt: T0 },
    lost(1, true), // written, then the response failed: already collected at the dispatch
    lost(2, false), // taken by a dead connection, the write failed
  ]);
  t.same(rec.nodes.map((n) => [n.lostAfterCollection, n.collected]), [[0, 0], [2, 2]]);
  rec.markFinal(T0 + 10);
  feed(rec, [lost(3, false), { ...lost(4, false), at: T0 + 11 }]);
  t.same(rec.nodes[1]!.lostAfterCollection, 3, 'one lost before the end counts (its event came late); one lost in the shutdown does not');
  t.same(rec.nodes[1]!.collected, 4, 'both left the queue all the same');
});

t.test('handshake histograms, poll gaps, reconnects, errors and registrations', async (t) => {
  const rec = recorder({ tentacles: 1, nodes: 1 });
  feed(rec, [
    { type: 'connect-start', at: T0, tentacle: 0, entry: 0, conn: 1 },
    { type: 'tcp-connected', at: T0 + 2, tentacle: 0, entry: 0, conn: 1, durationMs: 2 },
    { type: 'tls-done', at: T0 + 40, tentacle: 0, entry: 0, conn: 1, durationMs: 38, protocol: 'TLSv1.3', cipher: 'x', peerThumbprint: 'AB' },
    { type: 'identified', at: T0 + 70, tentacle: 0, entry: 0, conn: 1 },
    { type: 'polled', at: T0 + 1_070, tentacle: 0, entry: 0, conn: 1, kind: 'null' },
    { type: 'polled', at: T0 + 3_070, tentacle: 0, entry: 0, conn: 1, kind: 'request' },
    { type: 'closed', at: T0 + 3_100, tentacle: 0, entry: 0, conn: 1, reason: 'error', wasIdentified: true, errorKind: 'tcp.reset', message: 'read ECONNRESET' },
    { type: 'backoff', at: T0 + 3_100, tentacle: 0, entry: 0, conn: 1, delayMs: 1_000 },
    { type: 'backoff', at: T0 + 4_100, tentacle: 0, entry: 0, conn: 2, delayMs: 1_000 },
    { type: 'closed', at: T0 + 4_200, tentacle: 0, entry: 0, conn: 2, reason: 'error', errorKind: 'tcp.reset', wasIdentified: false, message: 'second' },
    { type: 'closed', at: T0 + 4_300, tentacle: 0, entry: 0, conn: 3, reason: 'stopped', wasIdentified: true },
    { type: 'registration', at: T0, tentacle: 0, ok: true, durationMs: 45 },
    { type: 'registration', at: T0, tentacle: 0, ok: false, durationMs: 5, status: 401, errorKind: 'api.unauthorized', message: 'HTTP 401' },
    { type: 'registration', at: T0, tentacle: 0, ok: false, durationMs: 5, errorKind: 'tcp.refused' },
  ]);
  near(t, rec.tcp.quantiles().max, 2, 'tcp');
  near(t, rec.tls.quantiles().max, 38, 'tls');
  near(t, rec.identify.quantiles().max, 30, 'identify = identified - tls-done');
  const gap = rec.pollGap.quantiles();
  t.equal(gap.count, 2, 'two gaps: identified -> poll, poll -> poll');
  near(t, gap.min, 1_000, 'gap min');
  near(t, gap.max, 2_000, 'gap max');
  t.equal(rec.polls, 2);
  t.equal(rec.reconnects, 2, 'one reconnect per backoff');
  t.same(rec.errors, { 'tcp.reset': 2, 'api.unauthorized': 1, 'tcp.refused': 1 }, 'stopped closes are not errors');
  t.equal(rec.errorExamples['tcp.reset'], 'read ECONNRESET', 'the first message is kept');
  t.equal(rec.registrations, 3);
  t.equal(rec.registration.count, 1, 'only successful registrations are timed');
  t.same(rec.registrationFailures, { 'HTTP 401': 1, 'tcp.refused': 1 });
  t.same(rec.errorExampleData['api.unauthorized'], { status: 401 }, 'the example keeps its data fields');
});

t.test('error data: one example per kind keeps the data of the event whose message it keeps', async (t) => {
  const rec = recorder({ tentacles: 1, nodes: 1 });
  const mismatch = (conn: number, presented: string): PollfleetEvent => ({
    type: 'closed', at: T0 + conn, tentacle: 0, entry: 0, conn, reason: 'error', wasIdentified: false,
    errorKind: 'tls.thumbprint-mismatch', message: `presented ${presented}`, address: '10.0.0.5:10943', expectedThumbprint: 'E'.repeat(40), presentedThumbprint: presented,
  });
  feed(rec, [
    mismatch(1, 'A'.repeat(40)),
    mismatch(2, 'B'.repeat(40)),
    { type: 'closed', at: T0 + 3, tentacle: 0, entry: 0, conn: 3, reason: 'error', wasIdentified: false, errorKind: 'tcp.reset', message: 'read ECONNRESET' },
  ]);
  t.equal(rec.errorExamples['tls.thumbprint-mismatch'], `presented ${'A'.repeat(40)}`);
  t.same(rec.errorExampleData['tls.thumbprint-mismatch'], { address: '10.0.0.5:10943', expectedThumbprint: 'E'.repeat(40), presentedThumbprint: 'A'.repeat(40) });
  t.equal(rec.errorExampleData['tcp.reset'], undefined, 'no data, no entry');
});

t.test('timeline samples: coverage share, connected per node, per-interval counters', async (t) => {
  const rec = recorder({ tentacles: 2, nodes: 2 });
  feed(rec, [
    nodeIdentified('node1', 1, 0, T0 + 100), nodeIdentified('node2', 2, 0, T0 + 100), nodeIdentified('node1', 3, 1, T0 + 100),
    { type: 'polled', at: T0 + 500, tentacle: 0, entry: 0, conn: 1, kind: 'null' },
    { type: 'backoff', at: T0 + 600, tentacle: 1, entry: 1, conn: 9, delayMs: 100 },
    { type: 'tls-done', at: T0 + 700, tentacle: 1, entry: 1, conn: 9, durationMs: 5, protocol: 'TLSv1.3', cipher: 'x', peerThumbprint: 'AB' },
    { type: 'closed', at: T0 + 800, tentacle: 1, entry: 1, conn: 9, reason: 'error', errorKind: 'tcp.refused', wasIdentified: false },
  ]);
  const p1 = rec.sample(T0 + 1_000, 'steady');
  t.same(p1, { t: 1_000, coverage: 0.75, nodes: { node1: 2, node2: 1 }, nodeCoverage: { node1: 2, node2: 1 }, polls: 1, handshakes: 1, errors: 1, reconnects: 1, phase: 'steady' });
  feed(rec, [nodeClosed('node1', 1, T0 + 1_500), nodeClosed('node1', 3, T0 + 1_500)]);
  const p2 = rec.sample(T0 + 2_000, 'fault');
  t.same(p2, { t: 2_000, coverage: 0.25, nodes: { node1: 0, node2: 1 }, nodeCoverage: { node1: 0, node2: 1 }, polls: 0, handshakes: 0, errors: 0, reconnects: 0, phase: 'fault' }, 'interval counters reset');
  t.equal(rec.timeline.length, 2);
  t.same(rec.nodes.map((n) => n.maxConnected), [2, 1], 'highest connected count seen by a sample');
});

t.test('markFinal freezes the final state; the shutdown afterwards does not change it', async (t) => {
  const rec = recorder({ tentacles: 2, nodes: 2 });
  feed(rec, [nodeIdentified('node1', 1, 0, T0), nodeIdentified('node2', 2, 0, T0), nodeIdentified('node1', 3, 1, T0)]);
  rec.markFinal(T0 + 30_000);
  feed(rec, [nodeClosed('node1', 1, T0 + 31_000), nodeClosed('node2', 2, T0 + 31_000), nodeClosed('node1', 3, T0 + 31_000)]);
  t.match(rec.finalSnapshot(), { covered: 3, connected: [2, 1] });
  t.equal(rec.isCoveredFinal(1, 1), false, 'tentacle 1 never reached node2');
  t.match(rec.snapshot(T0 + 31_000), { covered: 0, connected: [0, 0] }, 'the live state did change');

  // the null message a stopping node writes to every waiting connection is not a poll of the run
  const stopping = recorder({ tentacles: 2, nodes: 1 });
  feed(stopping, [nodeIdentified('node1', 1, 0, T0), nodeIdentified('node1', 2, 1, T0), nodeSent('node1', 1, 0, T0 + 5_000)]);
  stopping.markFinal(T0 + 10_000);
  feed(stopping, [nodeSent('node1', 1, 0, T0 + 10_500), nodeSent('node1', 2, 1, T0 + 10_500)]);
  t.equal(stopping.polledFinal(0, 0), true, 'polled during the run');
  t.equal(stopping.polledFinal(1, 0), false, 'only the shutdown null: not polled');
  t.equal(stopping.nodes[0]!.polls, 3, 'the messages themselves are still counted');

  const stale = recorder({ tentacles: 1, nodes: 1 });
  feed(stale, [nodeIdentified('node1', 1, 0, T0)]);
  stale.markFinal(T0 + STALE + 1);
  t.match(stale.finalSnapshot(), { covered: 0, connected: [1] }, 'staleness applies at the frozen time');
});

t.test('sinkWith forwards every event to the recorder and the other subscriber', async (t) => {
  const rec = recorder({ tentacles: 1, nodes: 1 });
  const seen: string[] = [];
  const sink = rec.sinkWith((e) => seen.push(e.type));
  sink({ type: 'backoff', at: T0, tentacle: 0, entry: 0, conn: 1, delayMs: 1 });
  t.equal(rec.reconnects, 1);
  t.same(seen, ['backoff']);
  t.equal(rec.sinkWith(), rec.record, 'no other subscriber: the recorder itself');
});
