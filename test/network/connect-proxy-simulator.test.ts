import t, { type Test } from 'tap';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ConnectProxySimulator } from '../../src/network/connect-proxy-simulator.js';
import { generateCertificate } from '../../src/pki/certificate.js';
import { connectRequest } from '../../src/tentacle/proxy-tunnel.js';

/** An echo server standing in for a node (plain TCP). */
async function echoServer(t: Test): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.teardown(() => new Promise<void>((ok) => server.close(() => ok())));
  return (server.address() as net.AddressInfo).port;
}

/** Send CONNECT through the proxy; resolves with the status line and the socket. */
function connectThrough(proxyPort: number, port: number, auth?: { username: string; password: string }): Promise<{ status: number; socket: net.Socket }> {
  return new Promise((ok, fail) => {
    const s = net.connect(proxyPort, '127.0.0.1', () => s.write(connectRequest({ host: '127.0.0.1', port }, { host: '127.0.0.1', port: proxyPort, ...auth })));
    s.once('error', fail);
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      s.off('data', onData);
      ok({ status: Number(buf.split(' ')[1]), socket: s });
    };
    s.on('data', onData);
  });
}

async function started(t: Test, o: ConstructorParameters<typeof ConnectProxySimulator>[0]): Promise<ConnectProxySimulator> {
  const p = new ConnectProxySimulator(o);
  await p.start();
  t.teardown(() => p.stop());
  return p;
}

t.test('opens tunnels, denies listed ports with 403', async (t) => {
  const node = await echoServer(t);
  const p = await started(t, { denyPorts: [1] });
  const ok = await connectThrough(p.port, node);
  t.equal(ok.status, 200);
  const echoed = new Promise<string>((r) => ok.socket.once('data', (d) => r(d.toString())));
  ok.socket.write('hello');
  t.equal(await echoed, 'hello', 'the tunnel carries bytes');
  ok.socket.destroy();
  const denied = await connectThrough(p.port, 1);
  t.equal(denied.status, 403);
  denied.socket.destroy();
  t.match(p.stats(), { requests: 2, tunnels: 1, denied: 1 });
});

t.test('demands Basic authentication with 407', async (t) => {
  const node = await echoServer(t);
  const p = await started(t, { auth: { username: 'u', password: 'pw' } });
  const none = await connectThrough(p.port, node);
  t.equal(none.status, 407, 'no credentials');
  none.socket.destroy();
  const wrong = await connectThrough(p.port, node, { username: 'u', password: 'nope' });
  t.equal(wrong.status, 407, 'wrong password');
  wrong.socket.destroy();
  const right = await connectThrough(p.port, node, { username: 'u', password: 'pw' });
  t.equal(right.status, 200, 'the right credentials');
  right.socket.destroy();
});

t.test('cuts tunnels after a while', async (t) => {
  const node = await echoServer(t);
  const p = await started(t, { cutTunnelsAfterMs: 150 });
  const { status, socket } = await connectThrough(p.port, node);
  t.equal(status, 200);
  const t0 = Date.now();
  await new Promise<void>((ok) => socket.once('close', () => ok()));
  const took = Date.now() - t0;
  t.ok(took >= 100 && took < 2000, `closed after ~150 ms (${took} ms)`);
  t.equal(p.stats().cut, 1);
});

t.test('inspects TLS: the node certificate replaced by one its CA issued, re-encrypted to the node', async (t) => {
  const nodeCert = await generateCertificate({ commonName: 'Octopus Portal' });
  const server = tls.createServer({ cert: nodeCert.certPem, key: nodeCert.keyPem }, (s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.teardown(() => new Promise<void>((ok) => server.close(() => ok())));
  const p = await started(t, { inspectTls: true, caCommonName: 'Corp Inspection CA' });
  const { status, socket } = await connectThrough(p.port, (server.address() as net.AddressInfo).port);
  t.equal(status, 200);
  const s = tls.connect({ socket, rejectUnauthorized: false });
  await new Promise<void>((ok, fail) => {
    s.once('secureConnect', () => ok());
    s.once('error', fail);
  });
  const peer = s.getPeerCertificate();
  t.equal(peer.issuer.CN, 'Corp Inspection CA', 'issued by the proxy CA');
  t.not(peer.fingerprint.replace(/:/g, ''), nodeCert.thumbprint, 'not the node certificate');
  const echoed = new Promise<string>((r) => s.once('data', (d) => r(d.toString())));
  s.write('through');
  t.equal(await echoed, 'through', 're-encrypted to the node and back');
  s.destroy();
  t.equal(p.stats().inspected, 1);
  t.equal(p.ca?.commonName, 'Corp Inspection CA');
});
