/**
 * The diagnosis: each sentence appears when the numbers call for it, and only then. Every
 * case starts from a clean run (no sentence at all) and bends one figure.
 */
import t, { type Test } from 'tap';
import { diagnose as diagnoseOnly } from '../../src/verdict/diagnose.js';
import { ROUTES } from '../../src/environment/routes/route-registry.js';
import type { RouteKind } from '../../src/scenario/resolve.js';
import { cleanRun, setExpired, setPolledBy, type CleanRunShape, type MeasuredResult } from '../helpers/result-factory.js';

/** The diagnosis as a run gets it: with its route's own sentences (src/environment/routes/<kind>.ts). */
const diagnose = (r: MeasuredResult): string[] => diagnoseOnly(r, ROUTES[r.route as RouteKind]?.diagnosis);

const EXPECTED_TP = 'A'.repeat(40);
const PRESENTED_TP = '0123456789ABCDEF0123456789ABCDEF01234567';

/** The one sentence matching `pattern`; fails the test when there are none or several. */
function sentence(t: Test, r: MeasuredResult, pattern: RegExp): string {
  const hits = diagnose(r).filter((s) => pattern.test(s));
  t.equal(hits.length, 1, `one sentence matches ${pattern}`);
  return hits[0] ?? '';
}

const run = (o: CleanRunShape = {}, bend: (r: MeasuredResult) => void = () => {}): MeasuredResult => {
  const r = cleanRun(o);
  bend(r);
  return r;
};

t.test('a clean run has nothing to say, for every route and queue', async (t) => {
  for (const route of ['direct', 'single-address', 'alb', 'nlb-unique-port']) {
    for (const queue of ['per-node', 'shared'] as const) t.same(diagnose(run({ route, queue })), [], `${route}/${queue}`);
  }
  t.same(diagnose(run({ target: 'external' })), [], 'external (no node-side figures)');
});

t.test('thumbprint mismatch: TLS offload, with the thumbprints when the error carries them', async (t) => {
  const withExample = run({}, (r) => {
    r.summary.errors['tls.thumbprint-mismatch'] = 2;
    r.summary.errorExamples['tls.thumbprint-mismatch'] = 'unexpected certificate';
    r.summary.errorExampleData = { 'tls.thumbprint-mismatch': { expectedThumbprint: EXPECTED_TP, presentedThumbprint: PRESENTED_TP } };
  });
  const s = sentence(t, withExample, /^TLS offload in the path/);
  t.match(s, `expected thumbprint ${EXPECTED_TP}, presented ${PRESENTED_TP}`);
  t.match(s, '(2 handshakes refused)');
  const one = run({}, (r) => (r.summary.errors['tls.thumbprint-mismatch'] = 1));
  const s1 = sentence(t, one, /^TLS offload in the path/);
  t.match(s1, 'the node presented an unexpected certificate');
  t.match(s1, '(1 handshake refused)');
  const messageOnly = run({}, (r) => {
    r.summary.errors['tls.thumbprint-mismatch'] = 1;
    r.summary.errorExamples['tls.thumbprint-mismatch'] = `expected ${EXPECTED_TP} but the node presented ${PRESENTED_TP}`;
  });
  t.match(sentence(t, messageOnly, /^TLS offload in the path/), 'the node presented an unexpected certificate', 'never parsed out of the message');
  t.same(diagnose(run({}, (r) => (r.summary.errors['tls.handshake-failed'] = 3))), [], 'another TLS error is not offload');
});

t.test('an HTTP answer to the polling handshake: a layer-7 balancer', async (t) => {
  const r = run({ route: 'alb' }, (r) => {
    r.summary.errors['protocol.http-response'] = 3;
    r.summary.errorExamples['protocol.http-response'] = 'the peer answered HTTP/1.1 502 Bad Gateway';
    r.summary.errorExampleData = { 'protocol.http-response': { status: 502 } };
  });
  const s = sentence(t, r, /^The balancer answered HTTP/);
  t.match(s, 'HTTP 502');
  t.match(s, '(3 times)');
  const noExample = run({ route: 'alb' }, (r) => (r.summary.errors['protocol.http-response'] = 1));
  t.match(sentence(t, noExample, /^The balancer answered HTTP/), 'HTTP 400 to the polling handshake (1 time)');
});

t.test('untrusted: nodes close right after identification', async (t) => {
  t.match(sentence(t, run({}, (r) => (r.summary.errors['tls.untrusted'] = 5)), /does not trust the tentacle's certificate/), 'Nodes closed 5 connections');
  t.match(sentence(t, run({}, (r) => (r.summary.errors['tls.untrusted'] = 1)), /does not trust/), 'Nodes closed 1 connection right');
});

const TODAY_UNTRUSTED = /^Nodes closed \d+ connections? right after the tentacle identified itself: the node does not trust the tentacle's certificate -- register the tentacle \(its thumbprint\) with the cluster\.$/;

t.test('closed without a byte: the per-subscription cap when the nodes counted it, with N and the connection count', async (t) => {
  const capped = run({ scenario: { cluster: { maxConnectionsPerSubscription: 2 }, fleet: { pollingConnectionCount: 3 } } }, (r) => {
    r.summary.errors['tls.untrusted'] = 8;
    r.nodes[0]!.connectionsOverSubscriptionCap = 4;
    r.nodes[1]!.connectionsOverSubscriptionCap = 4;
  });
  const s = sentence(t, capped, /^Nodes closed 8 connections/);
  t.match(s, "untrusted certificate OR over the node's per-subscription connection limit");
  t.match(s, 'refused 8 connections over their cap of 2 per subscription per node (node1 4, node2 4) while serving every tentacle');
  t.match(s, 'the fleet opens 3 per tentacle per node (fleet.pollingConnectionCount)');
  t.match(s, 'lower fleet.pollingConnectionCount to 2');
  t.notMatch(s, 'does not trust');
});

t.test('closed without a byte: the cap inferred when every node served every tentacle over several connections', async (t) => {
  const r = run({ target: 'external', scenario: { fleet: { pollingConnectionCount: 5 } } }, (r) => (r.summary.errors['tls.untrusted'] = 6));
  const s = sentence(t, r, /^Nodes closed 6 connections/);
  t.match(s, "untrusted certificate OR over the node's per-subscription connection limit");
  t.match(s, 'every node still served every tentacle, so only connections beyond N per subscription per node were refused');
  t.match(s, 'the fleet opens 5 per tentacle per node');
});

t.test('closed without a byte: the certificate when every connection of a subscription was refused', async (t) => {
  const oneConn = run({ scenario: { fleet: { pollingConnectionCount: 1 } } }, (r) => (r.summary.errors['tls.untrusted'] = 3));
  t.match(sentence(t, oneConn, /^Nodes closed/), TODAY_UNTRUSTED, 'one connection per node: no sign of a cap');
  const refusedAll = run({ scenario: { fleet: { pollingConnectionCount: 3 } } }, (r) => {
    r.summary.errors['tls.untrusted'] = 12;
    r.nodes[1]!.polledBy = 0;
  });
  t.match(sentence(t, refusedAll, /^Nodes closed/), TODAY_UNTRUSTED, 'a node that served nobody: the certificate');
});

t.test('nodes never polled through a single address with one queue per node', async (t) => {
  const r = run({ route: 'single-address' }, (r) => {
    setPolledBy(r, 'node2', 0);
    setPolledBy(r, 'node3', 0);
  });
  const s = sentence(t, r, /never received a poll/);
  t.match(s, /^node2 and node3 never received a poll: every tentacle reaches only the node its single connection was balanced to \(node1\)/);
  t.notMatch(s, 'from any tentacle');
  // a shared queue makes it a plain "never polled" (work is still collectable, but the node is not polled)
  const shared = run({ route: 'single-address', queue: 'shared' }, (r) => setPolledBy(r, 'node3', 0));
  t.match(sentence(t, shared, /never received a poll/), /^node3 never received a poll from any tentacle -- check that every tentacle lists this node/);
});

t.test('nodes never polled elsewhere; not said when TLS offload or HTTP already explain it', async (t) => {
  const direct = run({}, (r) => {
    setPolledBy(r, 'node1', 0);
    setPolledBy(r, 'node3', 0);
  });
  t.match(sentence(t, direct, /never received a poll/), /^node1 and node3 never received a poll from any tentacle -- .* these nodes/);
  t.notOk(diagnose(direct).some((s) => /was polled by/.test(s)), 'a never-polled node gets no partial-polling sentence');
  for (const kind of ['tls.thumbprint-mismatch', 'protocol.http-response']) {
    const explained = run({}, (r) => {
      setPolledBy(r, 'node2', 0);
      r.summary.errors[kind] = 1;
    });
    t.notOk(diagnose(explained).some((s) => /never received a poll/.test(s)), `${kind} explains it`);
  }
});

t.test('partial polling through one balanced address with one queue per node', async (t) => {
  const r = run({ route: 'single-address', tentacles: 6 }, (r) => {
    setPolledBy(r, 'node1', 3);
    setPolledBy(r, 'node2', 2);
    setPolledBy(r, 'node3', 6);
  });
  const s = sentence(t, r, /^Through one balanced address/);
  t.match(s, '(node1: 3/6 tentacles, node2: 2/6 tentacles)');
  t.notMatch(s, 'node3');
  t.notOk(diagnose(r).some((x) => /was polled by/.test(x)), 'no per-node sentence on a balanced route');
  t.same(diagnose(run({ route: 'single-address', queue: 'shared', tentacles: 6 }, (r) => setPolledBy(r, 'node1', 3))), [], 'shared queue: partial polling is fine');
  t.same(diagnose(run({ route: 'alb', tentacles: 6 }, (r) => setPolledBy(r, 'node1', 3))), [], 'alb: not the single-address sentence, and no per-node one');
});

t.test('connected but not polled before the run ended: the queue wait, not a server entry', async (t) => {
  // every tentacle connected to every node, the run ended before any null message (external: 30 s default)
  const none = run({ target: 'external', tentacles: 4 }, (r) => {
    for (const n of ['node1', 'node2', 'node3']) setPolledBy(r, n, 0, 4);
  });
  const d = diagnose(none);
  t.notOk(d.some((s) => /server entry|never received a poll/.test(s)), 'no server-entry advice for connected tentacles');
  t.match(sentence(t, none, /^Tentacles were connected/), /\(node1: 4, node2: 4, node3: 4\).*polling queue wait runs out \(30 s by default\) -- not a server-entry problem/);
  // the scenario's own queue wait is named when the Result has it
  const embedded = run({ tentacles: 4, scenario: { protocol: { pollingQueueWaitMs: 60_000 } } }, (r) => setPolledBy(r, 'node2', 1, 4));
  t.match(sentence(t, embedded, /^Tentacles were connected/), /\(node2: 3\).*\(60 s here\)/);
  t.notOk(diagnose(embedded).some((s) => /was polled by/.test(s)), 'node2 reached by all: no partial-polling sentence');
  // mixed: 2 polled, 1 more connected, 1 never connected -> the server-entry sentence counts only the one missing
  const mixed = run({ tentacles: 4 }, (r) => setPolledBy(r, 'node3', 2, 3));
  t.match(sentence(t, mixed, /^node3 was polled by/), /^node3 was polled by 3 of 4 tentacles: 1 tentacle does not poll node3 -- add node3/);
  t.match(sentence(t, mixed, /^Tentacles were connected/), '(node3: 1)');
  // a balanced route with one queue per node: a connected node is reached, so not "never received a poll"
  const balanced = run({ route: 'single-address', tentacles: 4 }, (r) => {
    setPolledBy(r, 'node1', 0, 2);
    setPolledBy(r, 'node2', 2);
    setPolledBy(r, 'node3', 0);
  });
  t.match(sentence(t, balanced, /never received a poll/), /^node3 never received a poll: .*\(node1 and node2\)/);
  t.match(sentence(t, balanced, /^Tentacles were connected/), '(node1: 2)');
});

t.test('partial polling with an address per node: one sentence per node, with its expired work', async (t) => {
  const r = run({ tentacles: 4 }, (r) => {
    setPolledBy(r, 'node2', 3);
    setExpired(r, 'node2', 2);
    setPolledBy(r, 'node3', 2);
  });
  t.match(sentence(t, r, /^node2 was polled by/), /^node2 was polled by 3 of 4 tentacles: 1 tentacle does not poll node2, so 2 requests queued there for them expired -- add node2 as a server entry/);
  const n3 = sentence(t, r, /^node3 was polled by/);
  t.match(n3, /^node3 was polled by 2 of 4 tentacles: 2 tentacles do not poll node3 -- add node3/);
  t.notMatch(n3, 'expired');
  t.notOk(diagnose(r).some((s) => /^node1 was polled/.test(s)), 'a node polled by all says nothing');
  t.same(diagnose(run({ target: 'external' }, (r) => (r.nodes[0]!.polledBy = null))), [], 'not measured (null) is not partial');
});

t.test('expired requests: total and where', async (t) => {
  const r = run({}, (r) => {
    setExpired(r, 'node1', 1);
    setExpired(r, 'node3', 4);
  });
  t.match(sentence(t, r, /expired \(/), /^5 requests expired \(node1: 1, node3: 4\): not collected within the polling request queue timeout/);
  t.match(sentence(t, run({}, (r) => setExpired(r, 'node2', 1)), /expired \(/), /^1 request expired \(node2: 1\)/);
  t.same(diagnose(run({ target: 'external' })), [], 'no node-side figures: nothing to say about expiry');
});

t.test('connections that cannot reach a node, unless a fault explains them', async (t) => {
  const r = run({}, (r) => {
    r.summary.errors['tcp.refused'] = 2;
    r.summary.errors['tcp.unreachable'] = 1;
    r.summary.errors['tcp.connect-timeout'] = 1;
    r.summary.errors['dns.failed'] = 1;
    r.summary.errors['tcp.reset'] = 7; // not a "could not reach"
  });
  t.match(sentence(t, r, /could not reach a node/), /^5 connection attempts could not reach a node/);
  t.match(sentence(t, run({}, (r) => (r.summary.errors['tcp.refused'] = 1)), /could not reach/), /^1 connection attempt could not/);
  const faulted = run({}, (r) => {
    r.summary.errors['tcp.refused'] = 9;
    r.faults = [{
      name: 'crash@node2', action: 'crash', target: 'node2', atMs: 1_000, forMs: 5_000, affectedPairs: 4,
      detectionMs: { count: 0, min: null, p50: null, p90: null, p99: null, max: null, mean: null, histogram: null },
      recoveryMs: { count: 0, min: null, p50: null, p90: null, p99: null, max: null, mean: null, histogram: null },
      timeToFullCoverageMs: 1_000, queuedDuringFault: 0, expired: 0, lostAfterCollection: 0, reconnectAttempts: 9, peakHandshakesPerSec: 4,
      backoff: 'shortened', story: '', pass: true, reasons: [],
    }];
  });
  t.notOk(diagnose(faulted).some((s) => /could not reach/.test(s)), 'refusals during a fault run are the fault\'s');
});

t.test('registration failures, per kind', async (t) => {
  const r = run({}, (r) => (r.summary.registrationMs.failures = { 'HTTP 401': 2, 'tcp.refused': 1 }));
  t.match(sentence(t, r, /^Registration failed/), /^Registration failed for 2 tentacles \(HTTP 401\), 1 tentacle \(tcp\.refused\) -- check the API URL/);
});

t.test('a balancer idle timeout below the poll cycle', async (t) => {
  const scenario = (idleTimeoutMs: number | undefined, pollingQueueWaitMs: number, faults: unknown[] = []) =>
    ({ route: { nlb: idleTimeoutMs === undefined ? {} : { idleTimeoutMs } }, protocol: { pollingQueueWaitMs }, faults });
  const below = run({ route: 'single-address', scenario: scenario(20_000, 30_000) }, (r) => (r.summary.errors['tcp.reset'] = 3));
  const s = sentence(t, below, /idle timeout/);
  t.match(s, /^The balancer's idle timeout \(20 s\) is shorter than the poll cycle \(pollingQueueWait 30 s\)/);
  t.match(s, '(3 connections reset)');
  t.notMatch(sentence(t, run({ route: 'nlb-unique-port', scenario: scenario(20_000, 30_000) }), /idle timeout/), 'reset)', 'no resets: no count');
  // an idle-timeout fault lowers it during the run: the lowest one counts
  const fault = run({ route: 'single-address', scenario: scenario(350_000, 30_000, [{ action: 'idle-timeout', idleTimeoutMs: 10_000 }, { action: 'crash' }]) });
  t.match(sentence(t, fault, /idle timeout/), '(10 s)');
  for (const [why, r] of [
    ['equal to the cycle', run({ route: 'single-address', scenario: scenario(30_000, 30_000) })],
    ['above the cycle', run({ route: 'single-address', scenario: scenario(350_000, 30_000) })],
    ['no idle timeout set', run({ route: 'single-address', scenario: scenario(undefined, 30_000) })],
    ['not an NLB route', run({ route: 'direct', scenario: scenario(20_000, 30_000) })],
    ['no scenario', run({ route: 'single-address' })],
  ] as const) {
    t.notOk(diagnose(r).some((x) => /idle timeout/.test(x)), why);
  }
});

t.test('an interrupted run says so, last', async (t) => {
  const r = run({}, (r) => {
    r.interrupted = true;
    setExpired(r, 'node1', 1);
  });
  const d = diagnose(r);
  t.equal(d[d.length - 1], 'The run was interrupted: figures cover only what ran.');
  t.equal(d.length, 2);
});
