import t from 'tap';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { backoffDelayMs } from '../../src/tentacle/backoff.js';
import { serverEntry, type ServerEntry } from '../../src/tentacle/server-entry.js';
import { Tentacle, type TentacleOptions } from '../../src/tentacle/tentacle.js';
import { EventLog, TEST_TIMEOUTS, closedPort, startStubNode } from '../helpers/tentacle.js';
import { getTestCertificates } from '../helpers/tls-pair.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

const certs = await getTestCertificates();
const SHORT_BACKOFF = { minMs: 50, maxMs: 400 };

/** A small seeded generator (mulberry32), so back-off multipliers are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function tentacle(servers: ServerEntry[], log: EventLog, over: Partial<TentacleOptions> = {}): Tentacle {
  let conn = 0;
  return new Tentacle({
    index: 3,
    identity: certs.tentacle,
    subscriptionId: newSubscriptionId(),
    servers,
    timeouts: TEST_TIMEOUTS,
    backoff: SHORT_BACKOFF,
    sink: log.sink,
    nextConnId: () => ++conn,
    ...over,
  });
}

t.test('closed port: tcp.refused, then back-off delays that follow clamp(elapsed x m, min, max)', async (t) => {
  const port = await closedPort();
  const log = new EventLog();
  const tt = tentacle([serverEntry(`127.0.0.1:${port}`, certs.node.thumbprint)], log, { random: seeded(42) });
  t.teardown(() => tt.stop());
  tt.start();
  await log.waitForCount((e) => e.type === 'backoff', 6, 8_000, 'back-off events');
  await tt.stop();

  const m = 1 + seeded(42)();
  const first = log.of('connect-start')[0]!.at;
  const closed = log.of('closed');
  const backoffs = log.of('backoff');
  t.ok(closed.every((c) => c.errorKind === 'tcp.refused' && c.reason === 'error' && !c.wasIdentified), 'every attempt refused');
  const delays = backoffs.map((b) => b.delayMs);
  t.equal(delays[0], SHORT_BACKOFF.minMs, 'the first failure waits min');
  for (let i = 0; i < backoffs.length; i++) {
    const b = backoffs[i]!;
    const c = closed.find((x) => x.conn === b.conn)!;
    // The tentacle reads the clock between the closed and the backoff event.
    const lo = backoffDelayMs(c.at - first, m, SHORT_BACKOFF);
    const hi = backoffDelayMs(b.at - first, m, SHORT_BACKOFF);
    t.ok(b.delayMs >= lo - 1e-6 && b.delayMs <= hi + 1e-6, `delay ${i} = ${b.delayMs.toFixed(1)} within [${lo.toFixed(1)}, ${hi.toFixed(1)}]`);
    const next = log.of('connect-start').find((s) => s.conn === b.conn + 1);
    if (next) t.ok(next.at - b.at >= b.delayMs - 2, `attempt ${i + 1} waited its delay`);
  }
  t.ok(delays.some((d) => d > SHORT_BACKOFF.minMs && d < SHORT_BACKOFF.maxMs), `grows between min and max: ${delays.map((d) => d.toFixed(0)).join(', ')}`);
  t.equal(delays.at(-1), SHORT_BACKOFF.maxMs, 'capped at max');
  t.ok(delays.every((d, i) => i === 0 || d >= delays[i - 1]!), 'never shrinks without an identification');
  t.equal(log.of('connect-start').length, closed.length, 'one closed event per attempt');
  t.equal(new Set(closed.map((c) => c.conn)).size, closed.length, 'each attempt has its own conn id');
});

t.test('stop() ends an identified connection with END and nothing reconnects', async (t) => {
  const node = await startStubNode();
  t.teardown(() => node.close());
  const log = new EventLog();
  const tt = tentacle([serverEntry(node.address, node.thumbprint)], log);
  tt.start();
  tt.start(); // idempotent
  await log.waitFor((e) => e.type === 'identified', 5_000, 'identified');
  const accepted = node.accepted;
  const stopping = tt.stop();
  t.equal(tt.stop(), stopping, 'concurrent stops share one promise');
  await withTimeout(stopping, 5_000, 'stop()');
  await waitFor(() => node.receivedEnd === 1, 2_000, 'END at the node');
  t.equal(node.receivedEnd, 1, 'the node received END');
  const closed = log.of('closed');
  t.equal(closed.length, 1);
  t.equal(closed[0]!.reason, 'stopped');
  t.equal(closed[0]!.wasIdentified, true);
  await new Promise((r) => setTimeout(r, 300));
  t.equal(log.of('connect-start').length, 1, 'no reconnect after stop');
  t.equal(log.of('backoff').length, 0, 'no back-off after stop');
  t.equal(node.accepted, accepted);
  await waitFor(() => node.openConnections === 0, 2_000, 'the node side to close');
  t.throws(() => tt.start(), { kind: 'internal', message: /was stopped/ }, 'a stopped tentacle refuses to start');
});

t.test('stop() is not held up by a hung node', async (t) => {
  const node = await startStubNode({ pollingQueueWaitMs: 10_000 });
  t.teardown(() => node.close());
  const log = new EventLog();
  const tt = tentacle([serverEntry(node.address, node.thumbprint)], log, {
    timeouts: { ...TEST_TIMEOUTS, heartbeatTimeoutMs: 10_000, receiveRequestTimeoutMs: 20_000 },
  });
  tt.start();
  await log.waitFor((e) => e.type === 'identified', 5_000, 'identified');
  node.hang();
  const t0 = Date.now();
  await withTimeout(tt.stop(), 8_000, 'stop() with a hung node');
  t.ok(Date.now() - t0 < 5_000, `stop took ${Date.now() - t0} ms (the heartbeat timeout is 10 s)`);
  t.equal(log.of('closed')[0]?.reason, 'stopped');
});

t.test('stop() cancels a pending back-off sleep', async (t) => {
  const port = await closedPort();
  const log = new EventLog();
  const tt = tentacle([serverEntry(`127.0.0.1:${port}`, certs.node.thumbprint)], log, { backoff: { minMs: 60_000, maxMs: 120_000 } });
  tt.start();
  await log.waitFor((e) => e.type === 'backoff', 5_000, 'backoff');
  const t0 = Date.now();
  await withTimeout(tt.stop(), 10_000, 'stop() during a 60 s back-off');
  t.ok(Date.now() - t0 < 5_000, 'stop did not wait for the 60 s sleep');
  t.equal(log.of('connect-start').length, 1);
});

t.test('a connection dropped after identifying retries after min (clock reset), then identifies again', async (t) => {
  const node = await startStubNode();
  t.teardown(() => node.close());
  const log = new EventLog();
  const tt = tentacle([serverEntry(node.address, node.thumbprint)], log, { backoff: { minMs: 50, maxMs: 5_000 } });
  t.teardown(() => tt.stop());
  tt.start();
  await log.waitFor((e) => e.type === 'identified', 5_000, 'identified');
  await new Promise((r) => setTimeout(r, 300)); // up long enough that elapsed x m would exceed min
  node.dropConnections();
  const b = await log.waitFor((e) => e.type === 'backoff', 5_000, 'backoff');
  t.equal(b.type === 'backoff' && b.delayMs, 50, 'back-off after an identified connection is min');
  const closed = log.of('closed')[0]!;
  t.equal(closed.wasIdentified, true);
  t.equal(closed.reason, 'error');
  t.ok(closed.errorKind === 'closed.by-peer' || closed.errorKind === 'tcp.reset', `classified as ${closed.errorKind}`);
  await log.waitForCount((e) => e.type === 'identified', 2, 5_000, 'identified again');
  t.same(log.of('identified').map((e) => e.conn), [1, 2], 'the retry is a new attempt');
});

t.test('pollingConnectionCount connections per server entry, one subscription id for every node', async (t) => {
  const a = await startStubNode();
  const b = await startStubNode();
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const log = new EventLog();
  const sub = newSubscriptionId();
  const tt = tentacle([serverEntry(a.address, a.thumbprint), serverEntry(b.address, b.thumbprint)], log, { pollingConnectionCount: 2, subscriptionId: sub });
  tt.start();
  await log.waitForCount((e) => e.type === 'identified', 4, 5_000, 'four identified connections');
  t.same(a.identified, [sub, sub]);
  t.same(b.identified, [sub, sub]);
  t.same(log.of('identified').map((e) => e.entry).sort(), [0, 0, 1, 1]);
  const r = await withTimeout(b.call(sub, 'ICapabilitiesServiceV2', 'GetCapabilities'), 5_000, 'a request via node b');
  t.equal(r.response.error, null);
  await withTimeout(tt.stop(), 5_000, 'stop');
  await waitFor(() => a.receivedEnd + b.receivedEnd === 4, 2_000, 'END at the nodes');
  t.equal(a.receivedEnd + b.receivedEnd, 4, 'END on every connection');
  t.equal(log.of('closed').filter((c) => c.reason === 'stopped').length, 4);
});

t.test('pollingConnectionCount outside 1..512 is refused', async (t) => {
  const log = new EventLog();
  for (const n of [0, 513, 1.5]) {
    t.throws(() => tentacle([], log, { pollingConnectionCount: n }), { kind: 'input.invalid', message: /1 to 512/ });
  }
});
