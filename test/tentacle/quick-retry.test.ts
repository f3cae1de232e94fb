import t from 'tap';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FleetEvent } from '../../src/core/events.js';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import type { ConnectionOutcome } from '../../src/tentacle/polling-connection.js';
import { QUICK_RETRY_ERROR_KINDS, isQuicklyRetried, type QuickRetryPolicy } from '../../src/tentacle/quick-retry.js';
import { serverEntry, type ServerEntry } from '../../src/tentacle/server-entry.js';
import { Tentacle, defaultQuickRetry, type TentacleOptions } from '../../src/tentacle/tentacle.js';
import { PROTOCOL_DEFAULTS } from '../../src/scenario/defaults.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { EventLog, TEST_TIMEOUTS, closedPort, startStubNode } from '../helpers/tentacle.js';
import { getTestCertificates, startTlsServer } from '../helpers/tls-pair.js';

const certs = await getTestCertificates();
/** A shortened interval; the outer back-off is fixed and much longer, so the two loops are easy to tell apart. */
const QUICK: QuickRetryPolicy = { tries: 5, intervalMs: 200, windowMs: 60_000 };
const OUTER = { minMs: 1_500, maxMs: 1_500 };

function tentacle(servers: ServerEntry[], log: EventLog, over: Partial<TentacleOptions> = {}): Tentacle {
  let conn = 0;
  return new Tentacle({
    index: 0,
    identity: certs.tentacle,
    subscriptionId: newSubscriptionId(),
    servers,
    timeouts: TEST_TIMEOUTS,
    backoff: OUTER,
    quickRetry: QUICK,
    sink: log.sink,
    nextConnId: () => ++conn,
    ...over,
  });
}

type Backoff = Extract<FleetEvent, { type: 'backoff' }>;

/** A plain TCP listener that accepts and at once resets (RST) or closes (FIN) every connection: a failure during TLS. */
async function hostileListener(how: 'reset' | 'close'): Promise<{ port: number; accepted: () => number; close(): Promise<void> }> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
    if (how === 'reset') s.resetAndDestroy();
    else s.end();
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

for (const how of ['reset', 'close'] as const) {
  t.test(`a listener that accepts and ${how === 'reset' ? 'resets' : 'closes during TLS'}: 5 quick tries ~interval apart, then the back-off, then 5 again`, async (t) => {
    const l = await hostileListener(how);
    t.teardown(() => l.close());
    const log = new EventLog();
    const tt = tentacle([serverEntry(`127.0.0.1:${l.port}`, certs.node.thumbprint)], log);
    t.teardown(() => tt.stop());
    tt.start();
    // Two rounds: 5 tries, the outer back-off, 5 tries, the outer back-off (~0.8 + 1.5 + 0.8 s).
    await log.waitForCount((e) => e.type === 'backoff' && !e.quick, 2, 15_000, 'two outer back-offs');
    await tt.stop();

    const starts = log.of('connect-start');
    const closed = log.of('closed');
    const backoffs = log.of('backoff') as Backoff[];
    t.comment(`errors: ${[...new Set(closed.map((c) => c.errorKind))].join(', ')}`);
    t.ok(closed.every((c) => c.reason === 'error' && !c.wasIdentified), 'every attempt failed before identification');
    // The order of sleeps: 4 quick, 1 outer, 4 quick, 1 outer.
    const kinds = backoffs.slice(0, 10).map((b) => (b.quick ? 'q' : 'B')).join('');
    t.equal(kinds, 'qqqqBqqqqB', 'four quick sleeps after the first four tries, the back-off after the fifth, twice');
    t.ok(backoffs.filter((b) => b.quick).every((b) => b.delayMs === QUICK.intervalMs), 'quick sleeps are the interval');
    t.ok(backoffs.filter((b) => !b.quick).every((b) => b.delayMs === OUTER.minMs), 'then the outer back-off');
    t.ok(starts.length >= 10, `${starts.length} attempts (10 before the second back-off)`);
    // Within a round tries come ~interval apart; between rounds the back-off separates them.
    const gaps = starts.slice(1, 10).map((s, i) => s.at - starts[i]!.at);
    t.comment(`gaps between attempts: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
    const quickGaps = [...gaps.slice(0, 4), ...gaps.slice(5, 9)];
    t.ok(quickGaps.every((g) => g >= QUICK.intervalMs - 5 && g < QUICK.intervalMs + 1_000), 'tries within a round ~interval apart');
    t.ok(gaps[4]! >= OUTER.minMs - 5, `the back-off separates the rounds (${gaps[4]!.toFixed(0)} ms)`);
    t.ok(l.accepted() >= 10, `the listener saw ${l.accepted()} connections`);
    // Every attempt is a connect-start (the fault analysis's reconnect attempts) and every sleep a back-off event (the Recorder's reconnects).
    t.equal(backoffs.length, closed.length, 'one sleep per failed attempt: both loops are counted');
  });
}

t.test('a refused port: no quick retries, straight to the back-off', async (t) => {
  const port = await closedPort();
  const log = new EventLog();
  const tt = tentacle([serverEntry(`127.0.0.1:${port}`, certs.node.thumbprint)], log, { backoff: { minMs: 300, maxMs: 300 } });
  t.teardown(() => tt.stop());
  tt.start();
  await log.waitForCount((e) => e.type === 'backoff', 3, 8_000, 'three back-offs');
  await tt.stop();
  t.ok(log.of('closed').every((c) => c.errorKind === 'tcp.refused'), 'every attempt refused');
  t.equal(log.of('backoff').filter((b) => b.quick).length, 0, 'no quick retry');
  const starts = log.of('connect-start');
  t.ok(starts.length >= 3 && starts.length <= 4, `${starts.length} attempts for three back-offs`);
  const gaps = starts.slice(1).map((s, i) => s.at - starts[i]!.at);
  t.ok(gaps.every((g) => g >= 295), `attempts a back-off apart (${gaps.map((g) => g.toFixed(0)).join(', ')} ms)`);
});

t.test('a wrong thumbprint: no quick retries', async (t) => {
  const node = await startStubNode();
  t.teardown(() => node.close());
  const log = new EventLog();
  const wrong = certs.tentacle.thumbprint; // any thumbprint but the node's
  const tt = tentacle([serverEntry(node.address, wrong)], log, { backoff: { minMs: 300, maxMs: 300 } });
  t.teardown(() => tt.stop());
  tt.start();
  await log.waitForCount((e) => e.type === 'backoff', 3, 8_000, 'three back-offs');
  await tt.stop();
  t.ok(log.of('closed').every((c) => c.errorKind === 'tls.thumbprint-mismatch'), 'every attempt a thumbprint mismatch');
  t.equal(log.of('backoff').filter((b) => b.quick).length, 0, 'no quick retry');
  t.equal(node.identified.length, 0, 'never identified');
});

t.test('the window ends the quick tries early', async (t) => {
  const l = await hostileListener('reset');
  t.teardown(() => l.close());
  const log = new EventLog();
  const tt = tentacle([serverEntry(`127.0.0.1:${l.port}`, certs.node.thumbprint)], log, {
    quickRetry: { tries: 5, intervalMs: 200, windowMs: 300 },
  });
  t.teardown(() => tt.stop());
  tt.start();
  await log.waitFor((e) => e.type === 'backoff' && !e.quick, 8_000, 'the outer back-off');
  await tt.stop();
  const quick = log.of('backoff').findIndex((b) => !b.quick);
  t.ok(quick >= 1 && quick <= 3, `${quick} quick retries before the window of 300 ms closed (5 allowed)`);
});

t.test('tries: 1 turns quick retries off', async (t) => {
  const l = await hostileListener('reset');
  t.teardown(() => l.close());
  const log = new EventLog();
  const tt = tentacle([serverEntry(`127.0.0.1:${l.port}`, certs.node.thumbprint)], log, {
    quickRetry: { tries: 1, intervalMs: 200, windowMs: 60_000 },
    backoff: { minMs: 300, maxMs: 300 },
  });
  t.teardown(() => tt.stop());
  tt.start();
  await log.waitForCount((e) => e.type === 'backoff', 2, 8_000, 'two back-offs');
  await tt.stop();
  t.equal(log.of('backoff').filter((b) => b.quick).length, 0);
});

t.test('a close after identification began is not retried quickly (the node may have started work)', async (t) => {
  // A TLS server that reads the preamble and identity, then closes without a byte (as an untrusting node does).
  const srv = await startTlsServer((socket) => {
    let seen = '';
    socket.on('data', (c: Buffer) => {
      seen += c.toString('latin1');
      if (seen.includes('MX-SUBSCRIBER') && seen.endsWith('\r\n\r\n')) socket.destroy();
    });
  });
  t.teardown(() => srv.close());
  const log = new EventLog();
  const tt = tentacle([serverEntry(`127.0.0.1:${srv.port}`, certs.node.thumbprint)], log, { backoff: { minMs: 300, maxMs: 300 } });
  t.teardown(() => tt.stop());
  tt.start();
  await log.waitForCount((e) => e.type === 'backoff', 2, 8_000, 'two back-offs');
  await tt.stop();
  t.ok(log.of('closed').every((c) => c.errorKind === 'tls.untrusted'), 'reported as an untrusted tentacle');
  t.equal(log.of('backoff').filter((b) => b.quick).length, 0, 'no quick retry');
});

t.test('the classification, in one place', async (t) => {
  const base: ConnectionOutcome = { reason: 'error', wasIdentified: false, identificationBegan: false, startedAtMs: 0 };
  for (const kind of QUICK_RETRY_ERROR_KINDS) t.ok(isQuicklyRetried({ ...base, errorKind: kind }), `${kind} is retried`);
  for (const kind of ['tcp.refused', 'dns.failed', 'tls.thumbprint-mismatch', 'tls.untrusted', 'protocol.error', 'timeout.heartbeat'] as const) {
    t.notOk(isQuicklyRetried({ ...base, errorKind: kind }), `${kind} is not`);
  }
  t.ok(isQuicklyRetried({ ...base, errorKind: 'tls.handshake-failed', closedDuringTls: true }), 'EOF during TLS is retried');
  t.notOk(isQuicklyRetried({ ...base, errorKind: 'tls.handshake-failed' }), 'a TLS alert is not');
  t.notOk(isQuicklyRetried({ ...base, errorKind: 'tcp.reset', identificationBegan: true }), 'nothing after identification began');
  t.notOk(isQuicklyRetried({ ...base, reason: 'stopped' }));
  t.same(defaultQuickRetry(), {
    tries: PROTOCOL_DEFAULTS.retryCountLimit, intervalMs: PROTOCOL_DEFAULTS.retryListeningSleepIntervalMs, windowMs: PROTOCOL_DEFAULTS.connectionErrorRetryTimeoutMs,
  }, 'the real defaults: 5 tries, 1 s apart, within 5 min');
  t.same([PROTOCOL_DEFAULTS.retryCountLimit, PROTOCOL_DEFAULTS.retryListeningSleepIntervalMs, PROTOCOL_DEFAULTS.connectionErrorRetryTimeoutMs], [5, 1_000, 300_000]);
});

t.test('the scenario keys: timeouts.retryListeningSleepInterval, retryCountLimit, connectionErrorRetryTimeout', async (t) => {
  const real = scenarioFromObject({});
  t.same(
    [real.protocol.retryCountLimit, real.protocol.retryListeningSleepIntervalMs, real.protocol.connectionErrorRetryTimeoutMs],
    [5, 1_000, 300_000],
    'real defaults when absent',
  );
  const s = scenarioFromObject({ timeouts: { retryListeningSleepInterval: '200ms', retryCountLimit: 3, connectionErrorRetryTimeout: '30s' } });
  t.same(
    [s.protocol.retryCountLimit, s.protocol.retryListeningSleepIntervalMs, s.protocol.connectionErrorRetryTimeoutMs],
    [3, 200, 30_000],
  );
  t.ok(s.shortened.some((x) => x.startsWith('retryListeningSleepInterval')), 'a shortened interval is reported as shortened');
  t.throws(() => scenarioFromObject({ timeouts: { retryCountLimit: 0 } }), 'at least one try');
});
