import t from 'tap';
import * as http from 'node:http';
import { Agent, Client, request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { AlbSimulator, type AlbOptions, type NetworkEvent } from '../../src/network/index.js';
import { generateCertificate, thumbprintOfDer, thumbprintOfPem, type CertificateIdentity } from '../../src/pki/index.js';
import { HttpTarget, LOOPBACK, watch } from '../helpers/network.js';
import { connectTls } from '../helpers/tls-pair.js';
import { sleep, waitFor } from '../helpers/wait.js';

const [albCert, clientCert] = await Promise.all([
  generateCertificate({ commonName: 'alb.example' }),
  generateCertificate({ commonName: 'Octopus Tentacle' }),
]);

async function httpTargets(...names: string[]): Promise<HttpTarget[]> {
  return Promise.all(names.map((n) => new HttpTarget(n).start()));
}

async function alb(t: { teardown(fn: () => unknown): void }, ts: HttpTarget[], o: Partial<AlbOptions> = {}): Promise<AlbSimulator> {
  const b = new AlbSimulator({
    certPem: albCert.certPem,
    keyPem: albCert.keyPem,
    targets: ts.map((x) => ({ name: x.name, host: LOOPBACK, port: x.port })),
    ...o,
  });
  await b.start();
  t.teardown(() => b.stop());
  return b;
}

function client(t: { teardown(fn: () => unknown): void }, cert?: CertificateIdentity): Agent {
  const a = new Agent({ connect: { rejectUnauthorized: false, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) } });
  t.teardown(() => a.close());
  return a;
}

async function get(agent: Agent | Client, port: number, path = '/'): Promise<{ status: number; body: string }> {
  const r = await request(`https://${LOOPBACK}:${port}${path}`, { dispatcher: agent, headersTimeout: 3_000, bodyTimeout: 3_000 });
  return { status: r.statusCode, body: await r.body.text() };
}

t.test('the certificate presented is the ALB own', async (t) => {
  const ts = await httpTargets('node1');
  t.teardown(() => ts[0]!.stop());
  const b = await alb(t, ts);
  const s = await connectTls(b.port);
  t.equal(thumbprintOfDer(s.getPeerCertificate().raw), albCert.thumbprint);
  s.destroy();
});

t.test('raw polling bytes after TLS get 400 Bad Request and a close', async (t) => {
  const ts = await httpTargets('node1');
  t.teardown(() => ts[0]!.stop());
  const b = await alb(t, ts);
  const w = watch(await connectTls(b.port, { identity: clientCert }));
  w.socket.write('MX\r\n\r\n');
  w.socket.write('MX-SUBSCRIBER 1.0 poll://g3662re9njtelsyfhm7t/\r\n\r\n');
  await waitFor(() => w.isClosed, 3_000, 'close');
  t.match(w.text, /^HTTP\/1\.1 400 Bad Request\r\n/);
  t.match(w.text, /Connection: close/);
  t.equal(ts[0]!.requests.length, 0, 'nothing reached the target');
  t.equal(b.stats().nonHttpRejected, 1);
  t.equal(b.stats().statusCounts['400'], 1);
});

t.test('requests spread round robin over the targets, with X-Forwarded headers', async (t) => {
  const ts = await httpTargets('a', 'b', 'c');
  t.teardown(() => Promise.all(ts.map((x) => x.stop())));
  const b = await alb(t, ts);
  // one client connection (undici Client = one socket)
  const agent = new Client(`https://${LOOPBACK}:${b.port}`, { connect: { rejectUnauthorized: false } });
  t.teardown(() => agent.close());
  const order: string[] = [];
  for (let i = 0; i < 9; i++) {
    const r = await get(agent, b.port, `/api/thing/${i}`);
    t.equal(r.status, 200);
    order.push(r.body);
  }
  t.same(ts.map((x) => x.requests.length), [3, 3, 3], `each target got a third (${order.join(',')})`);
  for (let i = 3; i < order.length; i++) t.equal(order[i], order[i - 3], 'the order repeats every three');
  const h = ts[0]!.requests[0]!;
  t.equal(h['x-forwarded-for'], LOOPBACK);
  t.equal(h['x-forwarded-proto'], 'https');
  t.equal(h['x-forwarded-port'], String(b.port));
  t.equal(b.stats().activeConnections, 1, `one front-end connection multiplexed over three targets (${b.stats().activeConnections})`);
  t.same(b.stats().targets.map((x) => x.requests), [3, 3, 3]);
  t.equal(b.stats().statusCounts['200'], 9);
});

t.test('least-outstanding prefers the idle target', async (t) => {
  const ts = await httpTargets('a', 'b');
  t.teardown(() => Promise.all(ts.map((x) => x.stop())));
  const b = await alb(t, ts, { routing: 'least-outstanding' });
  const agent = client(t);
  const slow = get(agent, b.port, '/slow');
  await waitFor(() => ts[0]!.held.length + ts[1]!.held.length === 1, 3_000, 'a held request');
  const busy = ts[0]!.held.length === 1 ? ts[0]! : ts[1]!;
  const idle = busy === ts[0] ? ts[1]! : ts[0]!;
  for (let i = 0; i < 4; i++) t.equal((await get(agent, b.port, '/fast')).body, idle.name);
  t.equal(b.stats().targets.find((x) => x.name === busy.name)!.outstanding, 1);
  busy.release();
  t.equal((await slow).body, busy.name);
});

t.test('unhealthy targets (by HTTP probe) get no new requests', async (t) => {
  const ts = await httpTargets('a', 'b');
  t.teardown(() => Promise.all(ts.map((x) => x.stop())));
  const events: NetworkEvent[] = [];
  const b = await alb(t, ts, { healthCheck: { intervalMs: 60, timeoutMs: 200, unhealthyThreshold: 2, healthyThreshold: 2 }, onEvent: (e) => events.push(e) });
  ts[0]!.status = 418;
  await waitFor(() => events.length === 1, 2_000, 'a unhealthy');
  t.match(events[0], { type: 'health-changed', target: 'a', isHealthy: false, detail: 'status 418' });
  const agent = client(t);
  for (let i = 0; i < 4; i++) t.equal((await get(agent, b.port)).body, 'b');
});

t.test('the idle timeout closes an idle client connection', async (t) => {
  const ts = await httpTargets('a');
  t.teardown(() => ts[0]!.stop());
  const b = await alb(t, ts, { idleTimeoutMs: 300 });
  const w = watch(await connectTls(b.port));
  w.socket.write(`GET / HTTP/1.1\r\nHost: ${LOOPBACK}\r\n\r\n`);
  await waitFor(() => w.text.includes('\r\n\r\n1\r\na\r\n0\r\n\r\n'), 2_000, 'response');
  const answeredAt = Date.now();
  await sleep(150);
  t.notOk(w.isClosed, 'still open before the timeout');
  await waitFor(() => w.isClosed, 2_000, 'idle close');
  const idleMs = Date.now() - answeredAt;
  t.ok(idleMs >= 250 && idleMs < 1_500, `closed after ${idleMs} ms idle (timeout 300)`);
  t.equal(b.stats().activeConnections, 0);
});

t.test('a WebSocket upgrade becomes a 1:1 tunnel to one target', async (t) => {
  const servers = await Promise.all(['a', 'b'].map(async (name) => {
    const server = http.createServer();
    const target = await new HttpTarget(name, server).start();
    const wss = new WebSocketServer({ server });
    const sockets: WebSocket[] = [];
    wss.on('connection', (ws, req) => {
      sockets.push(ws);
      ws.on('message', (m) => ws.send(`${name}:${m.toString()}:${req.headers['x-forwarded-proto']}`));
    });
    return { target, wss, sockets };
  }));
  t.teardown(async () => {
    for (const s of servers) {
      for (const ws of s.sockets) ws.terminate();
      s.wss.close();
      await s.target.stop();
    }
  });
  const b = await alb(t, servers.map((s) => s.target), { idleTimeoutMs: 400 });
  const ws = new WebSocket(`wss://${LOOPBACK}:${b.port}/OctopusComms`, 'Octopus', { rejectUnauthorized: false });
  const replies: string[] = [];
  ws.on('message', (m) => replies.push(m.toString()));
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  for (let i = 0; i < 10; i++) ws.send(`m${i}`);
  await waitFor(() => replies.length === 10, 3_000, '10 replies');
  const names = new Set(replies.map((r) => r.split(':')[0]));
  t.equal(names.size, 1, 'every frame went to the same target');
  t.ok(replies.every((r) => r.endsWith(':https')), 'the upgrade request carried X-Forwarded-Proto');
  t.equal(servers.reduce((n, s) => n + s.sockets.length, 0), 1, 'one tunnel, one target connection');
  const st = b.stats().targets.find((x) => x.name === [...names][0])!;
  t.equal(st.activeTunnels, 1);

  // an idle tunnel is closed by the idle timeout
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const code = await Promise.race([closed, sleep(3_000).then(() => -1)]);
  t.not(code, -1, 'idle tunnel closed');
  await waitFor(() => b.stats().targets.every((x) => x.activeTunnels === 0), 2_000, 'tunnel gone');
});

t.test('mutual TLS passthrough forwards the client certificate in X-Amzn-Mtls-Clientcert', async (t) => {
  const ts = await httpTargets('a');
  t.teardown(() => ts[0]!.stop());
  const b = await alb(t, ts, { mutualTls: 'passthrough' });
  const spoofer = client(t);
  await request(`https://${LOOPBACK}:${b.port}/`, { dispatcher: spoofer, headers: { 'x-amzn-mtls-clientcert': 'forged' } }).then((r) => r.body.text());
  t.equal(ts[0]!.requests[0]!['x-amzn-mtls-clientcert'], undefined, 'a client cannot forge the header');
  const agent = client(t, clientCert);
  t.equal((await get(agent, b.port)).status, 200);
  const header = ts[0]!.requests[1]!['x-amzn-mtls-clientcert'];
  t.type(header, 'string');
  t.notMatch(header as string, /[\n ]/, 'URL-encoded');
  t.equal(thumbprintOfPem(decodeURIComponent(header as string)), clientCert.thumbprint);

  const off = await alb(t, ts);
  const agent2 = client(t, clientCert);
  await get(agent2, off.port);
  t.equal(ts[0]!.requests[2]!['x-amzn-mtls-clientcert'], undefined, 'mode off forwards nothing');
});

t.test('no registered target: 503; stop is idempotent', async (t) => {
  const ts = await httpTargets('a');
  t.teardown(() => ts[0]!.stop());
  const b = await alb(t, ts, { deregistrationDelayMs: 50 });
  b.deregister('a');
  const agent = client(t);
  t.equal((await get(agent, b.port)).status, 503);
  b.register('a');
  t.equal((await get(agent, b.port)).status, 200);
  await Promise.all([b.stop(), b.stop()]);
  await t.rejects(b.start(), /already stopped/);
  t.throws(() => new AlbSimulator({ certPem: albCert.certPem, keyPem: albCert.keyPem, targets: [], idleTimeoutMs: 1 }), /at least one target/);
});
