/**
 * Fuzzing pollfleet's tentacle (src/tentacle/polling-connection.ts) facing a hostile node:
 * a TLS server on loopback with the pinned node certificate that answers with fuzzed
 * protocol bytes (TCP) or a fuzzed upgrade answer and fuzzed frames (WebSockets). Every
 * connection attempt must resolve within its timeouts with an outcome whose error has a
 * protocol kind (never `internal`), and a well-behaved node is still polled afterwards.
 */
import type tls from 'node:tls';
import fc from 'fast-check';
import t from 'tap';
import { webSocketAccept } from '../../src/halibut/websocket-frames.js';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { runPollingConnection, type ConnectionOutcome, type ConnectionTimeouts } from '../../src/tentacle/polling-connection.js';
import { serverEntry } from '../../src/tentacle/server-entry.js';
import { TentacleServices } from '../../src/tentacle/services.js';
import { tentacleSecureContext } from '../../src/tentacle/tentacle.js';
import { arbChunking, arbFramedStream, arbNodeBytes, chunked, fuzzParams } from '../helpers/fuzz.js';
import { EventLog, startStubNode } from '../helpers/tentacle.js';
import { getTestCertificates, startTlsServer } from '../helpers/tls-pair.js';
import { withTimeout } from '../helpers/wait.js';

const MAX = 64 * 1024;
const TIMEOUTS: ConnectionTimeouts = {
  connectTimeoutMs: 2_000,
  receiveRequestTimeoutMs: 250,
  receiveTimeoutMs: 250,
  heartbeatTimeoutMs: 250,
  keepAliveInitialDelayMs: 1_000,
  maxMessageBytes: MAX,
};
/** A few bounded reads plus the TLS handshake on a busy machine. */
const OUTCOME_BOUND_MS = 6_000;

const certs = await getTestCertificates();
const secureContext = tentacleSecureContext(certs.tentacle);

/** What the hostile node does with the next connection. */
let script: { bytes: Buffer[]; end: boolean; upgrade?: string } = { bytes: [], end: true };

function play(socket: tls.TLSSocket, s: typeof script): void {
  const send = () => {
    for (const b of s.bytes) if (!socket.destroyed) socket.write(b);
    if (s.end && !socket.destroyed) socket.end();
  };
  if (s.upgrade === undefined) {
    send();
    return;
  }
  let head = '';
  const onData = (c: Buffer) => {
    head += c.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.off('data', onData);
    const key = /sec-websocket-key: *([^\r\n]*)/i.exec(head)?.[1] ?? '';
    if (!socket.destroyed) socket.write(s.upgrade!.replace('{accept}', webSocketAccept(key)));
    send();
  };
  socket.on('data', onData);
}

const hostile = await startTlsServer((socket) => {
  socket.on('data', () => {});
  play(socket, script);
});
t.teardown(() => hostile.close());

function problem(out: ConnectionOutcome): string | null {
  if (out.reason === 'error' && (out.errorKind === undefined || out.errorKind === 'internal')) return `error of kind ${out.errorKind}: ${out.message}`;
  return null;
}

async function attempt(address: string): Promise<ConnectionOutcome> {
  const log = new EventLog();
  const ac = new AbortController();
  try {
    return await withTimeout(
      runPollingConnection({
        tentacle: 0, entry: 0, conn: 1, server: serverEntry(address, certs.node.thumbprint), secureContext,
        tentacleThumbprint: certs.tentacle.thumbprint, subscriptionId: newSubscriptionId(), timeouts: TIMEOUTS,
        services: new TentacleServices({ scriptRunMs: 10 }), sink: log.sink,
      }, ac.signal),
      OUTCOME_BOUND_MS,
      'the connection attempt to end',
    );
  } finally {
    ac.abort();
  }
}

t.test('TCP: a hostile node ends the attempt in a protocol error or a clean end', async (t) => {
  const params = fuzzParams(60, 0.05);
  const kinds = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(arbNodeBytes(MAX), arbChunking, fc.boolean(), async (bytes, chunking, end) => {
      script = { bytes: chunked(bytes, { ...chunking, byteAtATime: false }), end };
      const out = await attempt(`127.0.0.1:${hostile.port}`);
      kinds.set(out.errorKind ?? out.reason, (kinds.get(out.errorKind ?? out.reason) ?? 0) + 1);
      const p = problem(out);
      if (p) throw new Error(p);
    }),
    params,
  );
  t.pass(`${params.numRuns} hostile nodes: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
});

const UPGRADES = [
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: Octopus\r\n\r\n',
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: wrong\r\nSec-WebSocket-Protocol: Octopus\r\n\r\n',
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n\r\n',
  'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n',
  'HTTP/1.1 101\r\n\r\n',
  'MX-SERVER 1.0\r\n\r\n',
  'HTTP/1.1 101 Switching Protocols\r\nX: ' + 'a'.repeat(20_000),
];

t.test('WebSocket: a hostile node ends the attempt in a protocol error or a clean end', async (t) => {
  const params = fuzzParams(40, 0.03);
  const kinds = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(
      fc.oneof({ weight: 6, arbitrary: fc.constant(UPGRADES[0]!) }, fc.constantFrom(...UPGRADES)),
      arbFramedStream(arbNodeBytes(MAX), false),
      arbChunking,
      fc.boolean(),
      async (upgrade, bytes, chunking, end) => {
        script = { upgrade, bytes: chunked(bytes, { ...chunking, byteAtATime: false }), end };
        const out = await attempt(`wss://127.0.0.1:${hostile.port}/OctopusComms`);
        kinds.set(out.errorKind ?? out.reason, (kinds.get(out.errorKind ?? out.reason) ?? 0) + 1);
        const p = problem(out);
        if (p) throw new Error(p);
      },
    ),
    params,
  );
  t.pass(`${params.numRuns} hostile nodes: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
});

t.test('after the hostile nodes, the same process still polls a well-behaved node', async (t) => {
  const node = await startStubNode();
  t.teardown(() => node.close());
  const log = new EventLog();
  const ac = new AbortController();
  const outcome = runPollingConnection({
    tentacle: 0, entry: 0, conn: 1, server: serverEntry(node.address, node.thumbprint), secureContext,
    tentacleThumbprint: certs.tentacle.thumbprint, subscriptionId: newSubscriptionId(), timeouts: { ...TIMEOUTS, receiveRequestTimeoutMs: 2_000, receiveTimeoutMs: 2_000, heartbeatTimeoutMs: 2_000 },
    services: new TentacleServices({ scriptRunMs: 10 }), sink: log.sink,
  }, ac.signal);
  await log.waitFor((e) => e.type === 'identified', 5_000, 'identified');
  ac.abort();
  t.equal((await withTimeout(outcome, 5_000, 'stopped')).reason, 'stopped');
});
