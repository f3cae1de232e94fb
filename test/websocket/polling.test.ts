import https from 'node:https';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { WebSocketEndpoint } from '../../src/cluster/websocket-endpoint.js';
import type { FleetEvent } from '../../src/core/events.js';
import { TYPE_CAPABILITIES_RESPONSE_V2 } from '../../src/halibut/constants.js';
import { NULL_MESSAGE_DEFLATED } from '../../src/halibut/constants.js';
import {
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_CONTINUATION,
  OPCODE_PING,
  OPCODE_PONG,
  OPCODE_TEXT,
  parseClosePayload,
  type Frame,
} from '../../src/halibut/websocket-frames.js';
import { AlbSimulator } from '../../src/network/alb-simulator.js';
import { generateCertificate } from '../../src/pki/index.js';
import { runPollingConnection, type ConnectionOutcome, type PollingConnectionOptions } from '../../src/tentacle/polling-connection.js';
import { parseServerAddress, serverEntry } from '../../src/tentacle/server-entry.js';
import { TentacleServices } from '../../src/tentacle/services.js';
import { tentacleSecureContext } from '../../src/tentacle/tentacle.js';
import { HOST, registerTentacle, startClusterNode, testCertificates, type ClusterTestNode } from '../helpers/cluster.js';
import { EventLog, TEST_TIMEOUTS } from '../helpers/tentacle.js';
import { rawWebSocket } from '../helpers/websocket.js';
import { withTimeout } from '../helpers/wait.js';

const certs = await testCertificates();

interface Seen {
  conn: number;
  dir: 'in' | 'out';
  frame: Frame;
}

/** A node whose REST API runs over HTTPS (so it serves /OctopusComms), recording every WebSocket frame. */
async function wssNode(): Promise<{ node: ClusterTestNode; frames: Seen[] }> {
  const frames: Seen[] = [];
  const node = await startClusterNode({
    api: { host: HOST, port: 0, https: true },
    observeWebSocketFrame: (conn, dir, frame) => frames.push({ conn, dir, frame }),
  });
  return { node, frames };
}

function options(address: string, thumbprint: string, log: EventLog, over: Partial<PollingConnectionOptions> = {}): PollingConnectionOptions {
  return {
    tentacle: 0,
    entry: 0,
    conn: 1,
    server: serverEntry(address, thumbprint),
    secureContext: tentacleSecureContext(certs.tentacle),
    tentacleThumbprint: certs.tentacle.thumbprint,
    subscriptionId: 'poll://unregistered00000000/',
    timeouts: TEST_TIMEOUTS,
    services: new TentacleServices({ scriptRunMs: 50 }),
    sink: log.sink,
    ...over,
  };
}

function dataFrames(frames: Seen[], dir: 'in' | 'out'): Frame[] {
  return frames.filter((s) => s.dir === dir && s.frame.opcode <= OPCODE_BINARY).map((s) => s.frame);
}

t.test('wss addresses parse to the WebSocket transport', async (t) => {
  t.match(parseServerAddress('wss://octopus.example.com:443/OctopusComms'), { host: 'octopus.example.com', port: 443, transport: 'websocket', path: '/OctopusComms' });
  t.match(parseServerAddress('wss://octopus.example.com'), { port: 443, path: '/OctopusComms' }, 'port 443 and /OctopusComms by default');
  t.match(parseServerAddress('wss://[::1]:8443/OctopusComms/'), { host: '::1', port: 8443, path: '/OctopusComms/' });
  t.equal(parseServerAddress('https://octopus:10943').transport, undefined, 'https stays TCP');
});

t.test('end to end over wss: identified, GetCapabilities answered, no frame after MX sets FIN', async (t) => {
  const { node, frames } = await wssNode();
  t.teardown(() => node.close());
  const sub = await registerTentacle(node, certs.tentacle);
  const log = new EventLog();
  const ac = new AbortController();
  const outcome = runPollingConnection(options(`wss://${HOST}:${node.apiPort}/OctopusComms`, certs.server.thumbprint, log, { subscriptionId: sub }), ac.signal);
  await log.waitFor((e) => e.type === 'identified', 5_000, 'identified');
  t.match(log.of('tls-done')[0], { peerThumbprint: certs.server.thumbprint }, 'the node presented the cluster certificate');
  t.match(await node.waitFor('node-identified'), { subscription: sub, thumbprint: certs.tentacle.thumbprint }, 'the node read the identity and the client certificate');

  const result = await withTimeout(node.node.probe(sub, 'capabilities'), 5_000, 'GetCapabilities');
  t.equal(result.outcome.outcome, 'answered');
  if (result.outcome.outcome === 'answered') {
    t.same(result.outcome.response.result, { $type: TYPE_CAPABILITIES_RESPONSE_V2, SupportedCapabilities: ['IScriptService', 'IFileTransferService', 'IScriptServiceV2'] });
  }
  // at least one null message too (pollingQueueWait 300 ms in tests), so NEXT / PROCEED went round
  await node.waitFor('node-sent', (e) => e.kind === 'null');
  ac.abort();
  const out: ConnectionOutcome = await withTimeout(outcome, 5_000, 'connection ends');
  t.equal(out.reason, 'stopped');
  await node.waitFor('node-closed', (e) => e.subscription === sub);
  t.match(node.events.filter((e) => e.type === 'node-closed'), [{ reason: 'ended-by-peer' }], 'the node saw END and a normal close');

  const fromTentacle = dataFrames(frames, 'in');
  t.match(fromTentacle[0], { opcode: OPCODE_TEXT, fin: true }, 'the tentacle sends one text message first');
  t.equal(fromTentacle[0]!.payload.toString(), 'MX');
  const after = fromTentacle.slice(1);
  t.ok(after.length >= 4, `the polling stream took several frames (${after.length})`);
  t.equal(after[0]!.opcode, OPCODE_BINARY, 'the stream opens with a binary frame');
  t.ok(after.slice(1).every((f) => f.opcode === OPCODE_CONTINUATION), 'then only continuation frames');
  t.ok(after.every((f) => !f.fin), 'no frame after the text MX sets FIN');
  t.match(after[0]!.payload.toString('latin1'), /^MX-SUBSCRIBER 1\.0 poll:\/\/[a-z0-9]+\/\r\n\r\n$/, 'the stream starts with the identity, in one frame');
  const fromNode = dataFrames(frames, 'out');
  t.ok(fromNode.length >= 3 && fromNode.every((f) => !f.fin), 'the node never sets FIN either');
  t.equal(fromNode[0]!.payload.toString('latin1'), 'MX-SERVER 1.0\r\n\r\n');
  t.ok(frames.some((s) => s.dir === 'in' && s.frame.opcode === OPCODE_CLOSE), 'the stopping tentacle closed the WebSocket');
});

t.test('the node reads fragments without waiting for FIN: a stream cut into 3-byte fragments with pings in between', async (t) => {
  const { node } = await wssNode();
  t.teardown(() => node.close());
  const sub = await registerTentacle(node, certs.tentacle);
  const ws = await rawWebSocket(node.apiPort, certs.tentacle);
  t.teardown(() => ws.socket.destroy());
  t.equal(ws.status, 101, 'upgraded');
  t.match(ws.headers, /Sec-WebSocket-Protocol: Octopus/i);
  ws.send({ fin: true, opcode: OPCODE_TEXT, payload: Buffer.from('MX') });
  const identity = Buffer.from(`MX-SUBSCRIBER 1.0 ${sub}\r\n\r\n`);
  for (let i = 0; i < identity.length; i += 3) {
    ws.send({ fin: false, opcode: i === 0 ? OPCODE_BINARY : OPCODE_CONTINUATION, payload: identity.subarray(i, i + 3) });
    if (i % 9 === 0) ws.send({ fin: true, opcode: OPCODE_PING, payload: Buffer.from(`p${i}`) });
  }
  await ws.waitFor(() => ws.data().startsWith('MX-SERVER 1.0\r\n\r\n'), 5_000, 'MX-SERVER');
  const nullAt = 'MX-SERVER 1.0\r\n\r\n'.length;
  await ws.waitFor(() => ws.data().length >= nullAt + NULL_MESSAGE_DEFLATED.length, 5_000, 'the null message');
  t.ok(ws.frames.some((f) => f.opcode === OPCODE_PONG && f.payload.toString() === 'p0'), 'pings answered with pongs');
  for (const ch of 'NEXT\r\n') ws.send({ fin: false, opcode: OPCODE_CONTINUATION, payload: Buffer.from(ch) });
  await ws.waitFor(() => ws.data().includes('PROCEED\r\n'), 5_000, 'PROCEED');
  t.ok(ws.frames.filter((f) => f.opcode <= OPCODE_BINARY).every((f) => !f.fin), 'the node answered in fragments without FIN');
  ws.send({ fin: false, opcode: OPCODE_CONTINUATION, payload: Buffer.from('END\r\n') });
  await withTimeout(ws.closed, 5_000, 'the node closes after END');
  t.match(await node.waitFor('node-closed'), { subscription: sub, reason: 'ended-by-peer' });
});

t.test('upgrade refusals: wrong path, no Octopus subprotocol', async (t) => {
  const { node } = await wssNode();
  t.teardown(() => node.close());
  const wrongPath = await rawWebSocket(node.apiPort, certs.tentacle, { path: '/elsewhere' });
  t.equal(wrongPath.status, 404);
  const noProtocol = await rawWebSocket(node.apiPort, certs.tentacle, { protocol: 'chat' });
  t.equal(noProtocol.status, 400);
  wrongPath.socket.destroy();
  noProtocol.socket.destroy();
  t.equal(node.events.filter((e) => e.type === 'node-accepted').length, 0, 'nothing reached the polling session');
});

t.test('an untrusted tentacle is closed without a byte of WebSocket data: tls.untrusted', async (t) => {
  const { node, frames } = await wssNode();
  t.teardown(() => node.close());
  const log = new EventLog();
  const o = options(`wss://${HOST}:${node.apiPort}/OctopusComms`, certs.server.thumbprint, log, {
    secureContext: tentacleSecureContext(certs.stranger),
    tentacleThumbprint: certs.stranger.thumbprint,
  });
  const out = await withTimeout(runPollingConnection(o, new AbortController().signal), 5_000, 'connection ends');
  t.equal(out.errorKind, 'tls.untrusted');
  t.match(out.message, certs.stranger.thumbprint, 'names the tentacle thumbprint');
  t.match(await node.waitFor('node-rejected'), { reason: 'untrusted', thumbprint: certs.stranger.thumbprint });
  t.same(frames.filter((s) => s.dir === 'out'), [], 'the node sent no frame at all');
  t.equal(log.of('identified').length, 0);
});

t.test('thumbprint mismatch over wss: close 1002 "Certificate thumbprint not recognised", tls.thumbprint-mismatch', async (t) => {
  const other = await generateCertificate({ commonName: 'Not the cluster' });
  const seen: Frame[] = [];
  const requests: Record<string, string | string[] | undefined>[] = [];
  const served: string[] = [];
  const endpoint = new WebSocketEndpoint({
    maxFramePayload: 1024 * 1024,
    serve: (channel) => {
      served.push('serve');
      channel.duplex.on('error', () => {});
      channel.duplex.resume();
    },
    observeFrame: (_c, dir, f) => dir === 'in' && seen.push(f),
  });
  const server = https.createServer({ cert: other.certPem, key: other.keyPem, requestCert: true, rejectUnauthorized: false });
  server.on('upgrade', (req, socket, head) => {
    requests.push(req.headers);
    endpoint.handleUpgrade(req, socket, head);
  });
  await new Promise<void>((r) => server.listen(0, HOST, () => r()));
  t.teardown(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  const port = (server.address() as AddressInfo).port;
  const log = new EventLog();
  const out = await withTimeout(runPollingConnection(options(`wss://${HOST}:${port}/OctopusComms`, certs.server.thumbprint, log), new AbortController().signal), 5_000, 'connection ends');
  t.equal(out.errorKind, 'tls.thumbprint-mismatch');
  t.match(out.message, certs.server.thumbprint, 'names the expected thumbprint');
  t.match(out.message, other.thumbprint, 'and the presented one');
  t.match(requests[0], { 'sec-websocket-protocol': 'Octopus', 'x-octopus-requestid': /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/ }, 'subprotocol and request id sent');
  t.equal(served.length, 1, 'the upgrade completed before the check');
  const close = seen.find((f) => f.opcode === OPCODE_CLOSE);
  t.ok(close, 'the tentacle sent a close frame');
  t.same(parseClosePayload(close!.payload), { code: 1002, reason: 'Certificate thumbprint not recognised' });
  t.notOk(seen.some((f) => f.opcode === OPCODE_TEXT), 'MX was never sent');
  t.match(log.events.at(-1) as FleetEvent, { type: 'closed', reason: 'error', errorKind: 'tls.thumbprint-mismatch' });
});

t.test('through the ALB simulator the upgrade is tunnelled to the node, but the thumbprint check fails (TLS termination)', async (t) => {
  const { node, frames } = await wssNode();
  t.teardown(() => node.close());
  await registerTentacle(node, certs.tentacle);
  const albCert = await generateCertificate({ commonName: 'alb.example.com' });
  const alb = new AlbSimulator({
    host: HOST,
    certPem: albCert.certPem,
    keyPem: albCert.keyPem,
    targets: [{ name: 'node1', host: HOST, port: node.apiPort, protocol: 'https' }],
  });
  const albPort = await alb.start();
  t.teardown(() => alb.stop());
  const log = new EventLog();
  const out = await withTimeout(runPollingConnection(options(`wss://${HOST}:${albPort}/OctopusComms`, certs.server.thumbprint, log), new AbortController().signal), 5_000, 'connection ends');
  t.equal(out.errorKind, 'tls.thumbprint-mismatch', 'the tentacle refuses the balancer certificate');
  t.match(out.message, albCert.thumbprint);
  t.match(out.message, /TLS-terminating device/);
  t.equal(alb.stats().targets[0]!.totalTunnels, 1, 'the ALB passed the HTTP layer: one WebSocket tunnel to the node');
  await node.waitFor('node-accepted');
  const close = frames.find((s) => s.dir === 'in' && s.frame.opcode === OPCODE_CLOSE);
  t.ok(close, 'the node received the tentacle close through the tunnel');
  t.equal(parseClosePayload(close!.frame.payload).code, 1002);
  t.equal(node.events.filter((e) => e.type === 'node-identified').length, 0, 'never identified');
});
