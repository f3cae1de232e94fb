import t, { type Test } from 'tap';
import * as net from 'node:net';
import { connectRequest, openConnectTunnel, proxyAuthorization } from '../../src/tentacle/proxy-tunnel.js';
import { errorKindOf } from '../../src/core/errors.js';

/** A one-shot fake proxy: records the request head, answers `reply`, then echoes. */
async function fakeProxy(t: Test, reply: string): Promise<{ port: number; heads: string[] }> {
  const heads: string[] = [];
  const server = net.createServer((s) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      heads.push(buf.slice(0, end));
      s.write(reply);
      s.on('data', (x) => s.write(x));
    };
    s.on('data', onData);
    s.on('error', () => undefined);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.teardown(() => new Promise<void>((ok) => server.close(() => ok())));
  return { port: (server.address() as net.AddressInfo).port, heads };
}

function connectTo(port: number): Promise<net.Socket> {
  return new Promise((ok, fail) => {
    const s = net.connect(port, '127.0.0.1', () => ok(s));
    s.once('error', fail);
  });
}

const target = { host: '127.0.0.11', port: 10943, address: 'https://127.0.0.11:10943' };

t.test('the CONNECT request: Host header, Basic credentials only with a user name', async (t) => {
  t.equal(connectRequest(target, { host: '127.0.0.1', port: 3128 }), 'CONNECT 127.0.0.11:10943 HTTP/1.1\r\nHost: 127.0.0.11:10943\r\n\r\n');
  t.equal(proxyAuthorization({ username: 'u', password: 'p' }), `Basic ${Buffer.from('u:p').toString('base64')}`);
  t.equal(proxyAuthorization({}), null);
  t.match(connectRequest(target, { host: '127.0.0.1', port: 3128, username: 'u', password: 'p' }), /\r\nProxy-Authorization: Basic dTpw\r\n\r\n$/);
});

t.test('200: the socket carries the tunnel', async (t) => {
  const p = await fakeProxy(t, 'HTTP/1.1 200 Connection established\r\nX-Extra: 1\r\n\r\n');
  const s = await connectTo(p.port);
  t.teardown(() => s.destroy());
  await openConnectTunnel(s, target, { host: '127.0.0.1', port: p.port, username: 'u', password: 'p' }, 2000, new AbortController().signal);
  t.match(p.heads[0], /^CONNECT 127\.0\.0\.11:10943 HTTP\/1\.1\r\nHost: 127\.0\.0\.11:10943\r\nProxy-Authorization: Basic dTpw$/);
  const echoed = new Promise<string>((ok) => s.once('data', (d) => ok(d.toString())));
  s.write('MX\r\n\r\n');
  t.equal(await echoed, 'MX\r\n\r\n', 'bytes pass both ways after the answer');
});

t.test('403 and 407 are typed errors with status and proxy as data', async (t) => {
  for (const [reply, kind, status] of [
    ['HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n', 'proxy.connect-denied', 403],
    ['HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\n\r\n', 'proxy.auth-required', 407],
    ['HTTP/1.1 502 Bad Gateway\r\n\r\n', 'proxy.connect-denied', 502],
  ] as const) {
    const p = await fakeProxy(t, reply);
    const s = await connectTo(p.port);
    const e = await openConnectTunnel(s, target, { host: '127.0.0.1', port: p.port }, 2000, new AbortController().signal).then(() => null, (x: unknown) => x);
    s.destroy();
    t.equal(errorKindOf(e), kind, `${status}: ${kind}`);
    t.match(e, { status, proxy: `127.0.0.1:${p.port}`, address: target.address });
  }
});

t.test('a proxy that never answers: timeout.receive, bounded', async (t) => {
  const held: net.Socket[] = [];
  const server = net.createServer((s) => {
    held.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const s = await connectTo((server.address() as net.AddressInfo).port);
  const e = await openConnectTunnel(s, target, { host: '127.0.0.1', port: 1 }, 200, new AbortController().signal).then(() => null, (x: unknown) => x);
  t.equal(errorKindOf(e), 'timeout.receive');
  s.destroy();
  for (const h of held) h.destroy();
  await new Promise<void>((ok) => server.close(() => ok()));
});
