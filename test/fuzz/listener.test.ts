/**
 * Fuzzing the embedded node over real sockets: hostile byte streams from a trusted
 * tentacle certificate on the polling port (mutual TLS, loopback), and hostile frames on
 * the WebSocket endpoint. Each connection must close within the configured timeouts with
 * one terminal event and no internal error; afterwards a well-behaved tentacle still
 * identifies and polls on the same listener.
 */
import fc from 'fast-check';
import t from 'tap';
import type { PollfleetEvent } from '../../src/core/events.js';
import { chunked, arbChunking, arbFramedStream, arbTentacleBytes, fuzzParams } from '../helpers/fuzz.js';
import { registerTentacle, runTestTentacle, startClusterNode, testCertificates, testProtocol } from '../helpers/cluster.js';
import { connectTls } from '../helpers/tls-pair.js';
import { rawWebSocket } from '../helpers/websocket.js';
import { withTimeout } from '../helpers/wait.js';

const MAX = 64 * 1024;
/** Every read of the node is bounded by this; a connection lives a few of them at most. */
const READ_MS = 250;
const CLOSE_BOUND_MS = 4_000;
/** The subscription the generated identity lines name (registered, so sessions get past identification). */
const FUZZ_SUB = 'poll://abcdefghjklmnpqrstuv/';

const { tentacle } = await testCertificates();
const n = await startClusterNode({
  api: { host: '127.0.0.1', port: 0, https: true },
  protocol: testProtocol({ pollingQueueWaitMs: 60, receiveTimeoutMs: READ_MS, receiveResponseTimeoutMs: READ_MS, heartbeatTimeoutMs: READ_MS, maxMessageBytes: MAX }),
});
t.teardown(() => n.close());
await n.registry.register({
  name: 'fuzz', spaceId: 'Spaces-1', environmentIds: ['Environments-1'], roles: ['web'], thumbprint: tentacle.thumbprint, subscriptionId: FUZZ_SUB,
});

function terminalProblems(events: PollfleetEvent[]): string[] {
  const accepted = events.filter((e) => e.type === 'node-accepted').map((e) => (e as { connId: number }).connId);
  const problems: string[] = [];
  for (const id of accepted) {
    const ends = events.filter((e) => (e.type === 'node-closed' || e.type === 'node-rejected') && e.connId === id);
    if (ends.length !== 1) problems.push(`connection ${id}: ${ends.length} terminal events`);
    for (const e of ends) if (e.type === 'node-closed' && e.errorKind === 'internal') problems.push(`connection ${id}: internal error`);
  }
  return problems;
}

async function pause(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

t.test('polling port: hostile tentacle bytes close that one connection within the timeouts', async (t) => {
  const params = fuzzParams(60, 0.05);
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(arbTentacleBytes(MAX), arbChunking, fc.boolean(), async (input, chunking, end) => {
      runs++;
      // Queued work, so the session writes a request and the real hooks handle the fuzzed response.
      void n.node.probe(FUZZ_SUB, runs % 2 === 0 ? 'capabilities' : 'script').catch(() => {});
      const s = await connectTls(n.pollingPort, { identity: tentacle, timeoutMs: 5_000 });
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      s.on('data', () => {}); // whatever the node answers
      for (const c of chunked(input, { ...chunking, byteAtATime: chunking.byteAtATime && input.length < 64 })) {
        if (s.destroyed) break;
        s.write(c);
        if (chunking.byteAtATime) await pause(1);
      }
      if (end && !s.destroyed) s.end();
      try {
        await withTimeout(closed, CLOSE_BOUND_MS, 'the node to close a hostile connection');
      } finally {
        s.destroy();
      }
    }),
    params,
  );
  await withTimeout((async () => { while (n.node.stats().connections > 0) await pause(20); })(), CLOSE_BOUND_MS, 'no connection left open');
  t.same(terminalProblems(n.events), [], `${runs} connections: one terminal event each, none internal`);
});

t.test('WebSocket endpoint: hostile frames close that one connection within the timeouts', async (t) => {
  const params = fuzzParams(50, 0.03);
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(arbFramedStream(arbTentacleBytes(MAX), true), arbChunking, fc.boolean(), async (bytes, chunking, end) => {
      runs++;
      const ws = await rawWebSocket(n.apiPort, tentacle);
      if (ws.status !== 101) throw new Error(`upgrade refused: ${ws.headers}`);
      for (const c of chunked(bytes, { ...chunking, byteAtATime: false })) {
        if (ws.socket.destroyed) break;
        ws.socket.write(c);
      }
      if (end && !ws.socket.destroyed) ws.socket.end();
      try {
        await withTimeout(ws.closed, CLOSE_BOUND_MS, 'the node to close a hostile WebSocket');
      } finally {
        ws.socket.destroy();
      }
    }),
    params,
  );
  await withTimeout((async () => { while (n.node.stats().connections > 0) await pause(20); })(), CLOSE_BOUND_MS, 'no connection left open');
  t.same(terminalProblems(n.events), [], `${runs} WebSocket connections: one terminal event each, none internal`);
});

const arbUpgradeRequest = fc
  .record({
    method: fc.oneof({ weight: 4, arbitrary: fc.constant('GET') }, fc.constantFrom('POST', 'get', 'OPTIONS'), fc.stringMatching(/^[A-Z]{1,8}$/)),
    target: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('/OctopusComms', '/octopuscomms/', '/OctopusComms///') },
      // found by this property: `http://[::1` made new URL() throw inside the upgrade handler and end the process
      fc.constantFrom('http://[::1', 'http://[', '//', '/%zz', 'http://x:99999/OctopusComms', '*', 'https://user:pw@h/OctopusComms', '/OctopusComms?x=1#y'),
      fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
    ),
    headers: fc.array(
      fc.oneof(
        fc.constantFrom('Upgrade: websocket', 'Upgrade: WebSocket', 'Upgrade: h2c', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Key: ', 'Sec-WebSocket-Protocol: Octopus', 'Sec-WebSocket-Protocol:  x , Octopus ,',
          'Sec-WebSocket-Protocol: octopus', 'Sec-WebSocket-Extensions: permessage-deflate', 'Content-Length: 5', 'Transfer-Encoding: chunked'),
        fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,20}$/), fc.stringMatching(/^[\x20-\x7e]{0,60}$/)).map(([k, v]) => `${k}: ${v}`),
      ),
      { maxLength: 9 },
    ),
    body: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  })
  .map(({ method, target, headers, body }) => Buffer.concat([Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => h + '\r\n').join('')}\r\n`, 'latin1'), body]));

t.test('WebSocket endpoint: hostile upgrade requests get an HTTP answer or a close, and the node lives on', async (t) => {
  const params = fuzzParams(50, 0.03);
  await fc.assert(
    fc.asyncProperty(arbUpgradeRequest, async (request) => {
      const s = await connectTls(n.apiPort, { identity: tentacle, timeoutMs: 5_000 });
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      let answer = '';
      s.on('data', (c: Buffer) => (answer += c.toString('latin1')));
      s.end(request);
      try {
        await withTimeout(closed, CLOSE_BOUND_MS, 'the API to answer and close');
      } finally {
        s.destroy();
      }
      if (answer !== '' && !/^HTTP\/1\.1 \d{3} /.test(answer)) throw new Error(`not an HTTP answer: ${JSON.stringify(answer.slice(0, 80))}`);
    }),
    params,
  );
  t.pass(`${params.numRuns} upgrade requests`);
});

t.test('regression: an upgrade request whose target is not a URL gets 400, not a dead process', async (t) => {
  const s = await connectTls(n.apiPort, { identity: tentacle, timeoutMs: 5_000 });
  let answer = '';
  s.on('data', (c: Buffer) => (answer += c.toString('latin1')));
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  s.end('GET http://[::1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: Octopus\r\n\r\n');
  await withTimeout(closed, CLOSE_BOUND_MS, 'the answer');
  t.match(answer, /^HTTP\/1\.1 400 /);
});

t.test('after the hostile batches a well-behaved tentacle identifies and is polled on the same listener', async (t) => {
  const sub = await registerTentacle(n, tentacle, 'good');
  const tt = await runTestTentacle(n.pollingPort, tentacle, sub);
  await withTimeout(tt.identified, 5_000, 'identified');
  const result = await withTimeout(n.node.probe(sub), 5_000, 'probe answered');
  t.equal(result.outcome.outcome, 'answered');
  tt.stop();
  await withTimeout(tt.done, 5_000, 'tentacle stops');
});
