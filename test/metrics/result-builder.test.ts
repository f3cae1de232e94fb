/**
 * buildResult from a Recorder fed a synthetic stream: summary numbers, node results and the
 * tentacle x node matrix, each computed by hand from the events below.
 */
import t from 'tap';
import type { PollfleetEvent } from '../../src/core/events.js';
import { Recorder, type RecorderPlan } from '../../src/metrics/recorder.js';
import { buildResult, type RunFacts } from '../../src/metrics/result-builder.js';
import { RESULT_SCHEMA } from '../../src/result/result.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const sub = (tentacle: number) => `poll://tentacle${tentacle}/`;

function recorder(tentacles: number, nodes: number, o: Partial<RecorderPlan> = {}): Recorder {
  const nodeNames = Array.from({ length: nodes }, (_, i) => `node${i + 1}`);
  const rec = new Recorder({
    tentacles, nodeNames, pairSource: 'node', entryNode: (_t, e) => e, queueGroups: nodeNames.map((_, i) => [i]), stalenessMs: 60_000, ...o,
  }, T0);
  for (let i = 0; i < tentacles; i++) rec.mapSubscription(sub(i), i);
  return rec;
}

function facts(rec: Recorder, o: Partial<RunFacts> = {}): RunFacts {
  return {
    name: 'unit', route: 'direct', queue: 'per-node', target: 'embedded', balancer: null, scenario: { name: 'unit' }, shortened: [],
    toolVersion: '9.9.9', startedAt: T0, finishedAt: T0 + 4_000, finalAt: T0 + 2_500, interrupted: false,
    nodes: rec.plan.nodeNames.map((name, i) => ({ name, address: `127.0.0.1:${10943 + i}`, apiUrl: null })),
    nodeSideMeasured: true,
    ...o,
  };
}

const identified = (node: string, connId: number, tentacle: number, rel: number): PollfleetEvent =>
  ({ type: 'node-identified', at: T0 + rel, node, connId, subscription: sub(tentacle), thumbprint: 'AB' });
const sent = (node: string, connId: number, tentacle: number, rel: number): PollfleetEvent =>
  ({ type: 'node-sent', at: T0 + rel, node, connId, subscription: sub(tentacle), kind: 'null' });
const closed = (node: string, connId: number, rel: number): PollfleetEvent =>
  ({ type: 'node-closed', at: T0 + rel, node, connId, reason: 'ended-by-peer' });
const queued = (node: string, key: number, rel: number): PollfleetEvent =>
  ({ type: 'request-queued', at: T0 + rel, node, requestKey: key, subscription: sub(0), service: 'IScriptServiceV2' });
const dispatched = (node: string, key: number, enqueuedRel: number, rel: number): PollfleetEvent =>
  ({ type: 'request-dispatched', at: T0 + rel, node, owner: node, requestKey: key, subscription: sub(0), enqueuedAt: T0 + enqueuedRel });

/** 3 tentacles x 2 nodes; see the comments for who reaches whom. */
function scriptedRun(): Recorder {
  const rec = recorder(3, 2);
  const feed = (...es: PollfleetEvent[]) => es.forEach((e) => rec.record(e));
  rec.sample(T0 + 50, 'ramping'); // nothing yet: coverage 0, not part of the steady figures
  feed(
    identified('node1', 1, 0, 100), identified('node2', 2, 0, 100), // tentacle 0 -> both nodes
    identified('node1', 3, 1, 100), // tentacle 1 -> node1
    identified('node2', 4, 2, 100), // tentacle 2 -> node2, never polled on it
    sent('node1', 1, 0, 200), sent('node1', 3, 1, 200), sent('node2', 2, 0, 200),
    queued('node1', 1, 300), queued('node1', 2, 300), queued('node1', 3, 300),
    dispatched('node1', 1, 300, 400), dispatched('node1', 2, 300, 600),
    { type: 'request-expired', at: T0 + 900, node: 'node1', requestKey: 3, subscription: sub(0), enqueuedAt: T0 + 300 },
    { type: 'request-answered', at: T0 + 700, node: 'node1', owner: 'node1', requestKey: 1, subscription: sub(0), ok: true },
    { type: 'request-answered', at: T0 + 700, node: 'node1', owner: 'node1', requestKey: 2, subscription: sub(0), ok: true },
    queued('node2', 1, 300), queued('node2', 2, 300),
    dispatched('node2', 1, 300, 500), // node2's second request is still pending at the end
    { type: 'backoff', at: T0 + 800, tentacle: 1, entry: 0, conn: 9, delayMs: 100 },
    { type: 'closed', at: T0 + 800, tentacle: 1, entry: 0, conn: 9, reason: 'error', errorKind: 'tcp.reset', wasIdentified: true, message: 'ECONNRESET' },
  );
  rec.sample(T0 + 1_000, 'steady'); // covered 4 of 6
  feed(closed('node1', 3, 1_500)); // tentacle 1 loses node1
  rec.sample(T0 + 2_000, 'fault'); // covered 3 of 6
  rec.markFinal(T0 + 2_500);
  feed(closed('node1', 1, 3_000), closed('node2', 2, 3_000), closed('node2', 4, 3_000)); // the fleet stops
  rec.sample(T0 + 3_500, 'stopping'); // covered 0: not part of the steady figures
  return rec;
}

t.test('summary: final coverage from the frozen state, min and mean over the steady part, request totals', async (t) => {
  const rec = scriptedRun();
  const r = buildResult(rec, facts(rec));
  const s = r.summary;
  t.same([s.tentacles, s.nodes, s.pairs, s.coveredPairs], [3, 2, 6, 3]);
  t.same(s.coverage, { final: 0.5, min: 0.5, mean: 0.5833 }, 'steady + fault points only: (4/6 + 3/6) / 2');
  t.same(s.requests, { queued: 5, collected: 3, expired: 1, answered: 2, pendingAtEnd: 1, lostAfterCollection: 0 });
  t.equal(s.pickupMs!.count, 3, 'pickup over every node');
  t.equal(s.pickupMs!.min, 100);
  t.equal(s.pickupMs!.max, 300);
  t.equal(s.reconnects, 1);
  t.same(s.errors, { 'tcp.reset': 1 });
  t.same(s.errorExamples, { 'tcp.reset': 'ECONNRESET' });
  t.same(s.nodesNeverPolled, []);
  t.same(s.registrationMs.failures, {});
  t.equal(r.schema, RESULT_SCHEMA);
  t.equal(r.tool.version, '9.9.9');
  t.equal(r.startedAt, '2026-01-01T12:00:00.000Z');
  t.equal(r.durationMs, 4_000);
  t.same(r.faults, []);
  t.equal(r.timeline.length, 4, 'the whole timeline, ramping and stopping included');
});

t.test('node results: connected at the end, max connected, polled by, requests, coverage', async (t) => {
  const rec = scriptedRun();
  const [n1, n2] = buildResult(rec, facts(rec)).nodes;
  t.same(
    [n1!.name, n1!.address, n1!.connectedTentacles, n1!.maxConnectedTentacles, n1!.polledBy, n1!.polls],
    ['node1', '127.0.0.1:10943', 1, 2, 2, 2],
  );
  t.same([n2!.connectedTentacles, n2!.maxConnectedTentacles, n2!.polledBy, n2!.polls], [2, 2, 1, 1]);
  t.same(n1!.requests, { queued: 3, collected: 2, expired: 1, answered: 2, pendingAtEnd: 0, lostAfterCollection: 0 });
  t.same(n2!.requests, { queued: 2, collected: 1, expired: 0, answered: 0, pendingAtEnd: 1, lostAfterCollection: 0 });
  t.equal(n1!.pickupMs!.count, 2);
  t.equal(n1!.pickupMs!.max, 300);
  t.type(n1!.pickupMs!.histogram, 'string', 'pickup kept encoded for merging');
  t.equal(n1!.coverage.final, 0.3333, 'node1: tentacle 0 of 3 covered at the end');
  t.equal(n2!.coverage.final, 0.6667, 'node2: tentacles 0 and 2');
  t.ok(Math.abs(n1!.coverage.min - 1 / 3) < 1e-4 && Math.abs(n1!.coverage.mean - 0.5) < 1e-4, `node1 over the steady part: 2/3 then 1/3 (${JSON.stringify(n1!.coverage)})`);
});

t.test('matrix: polled and covered share per tentacle and node', async (t) => {
  const rec = scriptedRun();
  const m = buildResult(rec, facts(rec)).matrix;
  t.same(m.nodes, ['node1', 'node2']);
  t.equal(m.bucketSize, 1);
  t.same(m.polledShare, [[1, 1], [1, 0], [0, 0]]);
  t.same(m.coveredShare, [[1, 1], [0, 0], [0, 1]], 'tentacle 1 lost node1 before the final moment');
});

t.test('matrix: large fleets are bucketed to at most 100 rows', async (t) => {
  const rec = recorder(250, 1);
  for (let i = 0; i < 125; i++) rec.record(identified('node1', i, i, 100));
  for (let i = 0; i < 250; i += 2) rec.record(sent('node1', i, i, 200)); // only tentacles 0..124 are identified, so only the even ones among them count as polled
  const m = buildResult(rec, facts(rec, { finalAt: T0 + 1_000 })).matrix;
  t.equal(m.bucketSize, 3, 'ceil(250 / 100)');
  t.equal(m.coveredShare.length, 84, 'ceil(250 / 3) buckets');
  t.same(m.coveredShare[0], [1]);
  t.same(m.coveredShare[41], [0.667], 'tentacles 123..125: two of three covered');
  t.same(m.coveredShare[42], [0]);
  t.same(m.coveredShare[83], [0], 'the last bucket holds one tentacle (249)');
  t.same(m.polledShare[0], [0.667], 'tentacles 0..2: 0 and 2 polled');
  t.same(m.polledShare[1], [0.333], 'tentacles 3..5: 4 polled');
});

t.test('without node-side figures (external target), node-side numbers are null, not zero', async (t) => {
  const rec = scriptedRun();
  const r = buildResult(rec, facts(rec, { nodeSideMeasured: false, target: 'external' }));
  t.equal(r.summary.pickupMs, null);
  t.equal(r.summary.requests, null);
  for (const n of r.nodes) {
    t.equal(n.polls, null);
    t.equal(n.pickupMs, null);
    t.equal(n.requests, null);
  }
  t.equal(r.nodes[0]!.polledBy, 2, 'who polled whom is still known');
});

t.test('a shared queue: one live pair covers its tentacle on every node; unpolled nodes are still never polled', async (t) => {
  const rec = recorder(2, 3, { queueGroups: [[0, 1, 2], [0, 1, 2], [0, 1, 2]] });
  rec.record(identified('node1', 1, 0, 100));
  rec.record(sent('node1', 1, 0, 200));
  rec.record(identified('node2', 2, 1, 100));
  rec.record(sent('node2', 2, 1, 200));
  const r = buildResult(rec, facts(rec, { queue: 'shared', finalAt: T0 + 1_000 }));
  t.same(r.summary.coverage.final, 1, 'every pair covered through the shared queue');
  t.equal(r.summary.coveredPairs, 6);
  t.same(r.summary.nodesNeverPolled, ['node3']);
  t.same(r.nodes.map((n) => n.coverage.final), [1, 1, 1]);
  t.same(r.nodes.map((n) => n.connectedTentacles), [1, 1, 0]);
});

t.test('buildResult freezes the final state at finalAt when the caller did not', async (t) => {
  const rec = recorder(1, 1);
  rec.record(identified('node1', 1, 0, 0));
  const r = buildResult(rec, facts(rec, { finalAt: T0 + 60_001 }));
  t.equal(r.summary.coverage.final, 0, 'stale by finalAt: uncovered');
  t.equal(rec.final?.at, T0 + 60_001);
});

t.test('per-node coverage min/mean use the same definition as its final value', async (t) => {
  const rec = recorder(2, 3, { queueGroups: [[0, 1, 2], [0, 1, 2], [0, 1, 2]] });
  rec.record(identified('node1', 1, 0, 100));
  rec.record(identified('node2', 2, 1, 100));
  rec.sample(T0 + 1_000, 'steady');
  rec.sample(T0 + 2_000, 'steady');
  const node3 = buildResult(rec, facts(rec, { queue: 'shared', finalAt: T0 + 2_500 })).nodes[2]!;
  t.equal(node3.coverage.final, 1, 'covered through the shared queue');
  t.equal(node3.coverage.min, 1, 'and so it was all along');
  t.equal(node3.coverage.mean, 1);
});
