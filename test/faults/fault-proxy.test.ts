import * as net from 'node:net';
import t from 'tap';
import { FaultProxy } from '../../src/network/toxics/fault-proxy.js';
import type { ToxicParams } from '../../src/network/toxics/toxic.js';
import { sleep, waitFor } from '../helpers/wait.js';

const P: ToxicParams = { latencyMs: 0, jitterMs: 0, bytesPerSec: 0, sliceBytes: 64, sliceDelayMs: 0, limitBytes: 0 };

/** An echo server on loopback, port from the OS. */
async function echoServer(t: { teardown(fn: () => unknown): void }): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

async function proxyTo(t: { teardown(fn: () => unknown): void }, port: number): Promise<FaultProxy> {
  const p = new FaultProxy({ name: 'test proxy', host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port }, connectTimeoutMs: 2_000 });
  await p.start();
  t.teardown(() => p.stop());
  return p;
}

interface Client {
  socket: net.Socket;
  received: () => Buffer;
  chunks: () => number;
  error: () => NodeJS.ErrnoException | null;
  closed: () => boolean;
}

async function connect(port: number): Promise<Client> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
  const parts: Buffer[] = [];
  let err: NodeJS.ErrnoException | null = null;
  let closed = false;
  socket.on('data', (b: Buffer) => parts.push(b));
  socket.on('error', (e) => (err = e));
  socket.on('close', () => (closed = true));
  return { socket, received: () => Buffer.concat(parts), chunks: () => parts.length, error: () => err, closed: () => closed };
}

async function roundTrip(c: Client, data: Buffer, ms = 3_000): Promise<number> {
  const before = c.received().length;
  const t0 = performance.now();
  c.socket.write(data);
  await waitFor(() => (c.received().length >= before + data.length ? true : undefined), ms, 'the echo', 5);
  return performance.now() - t0;
}

t.test('without toxics bytes pass untouched both ways', async (t) => {
  const p = await proxyTo(t, await echoServer(t));
  const c = await connect(p.port);
  const data = Buffer.from('MX\r\n\r\nMX-SUBSCRIBER 1.0 poll://abc/\r\n\r\n');
  await roundTrip(c, data);
  t.same(c.received(), data);
  t.equal(p.connectionCount, 1);
  c.socket.destroy();
});

t.test('latency delays each direction by latencyMs, in order; removing it flushes nothing late', async (t) => {
  const p = await proxyTo(t, await echoServer(t));
  const c = await connect(p.port);
  const base = await roundTrip(c, Buffer.from('x'));
  const id = p.addToxic('latency', { ...P, latencyMs: 150 }, { direction: 'both', share: 1 });
  const slow = await roundTrip(c, Buffer.from('y'));
  t.ok(slow >= 290 && slow < 3_000, `round trip with 150 ms each way: ${slow.toFixed(0)} ms (without: ${base.toFixed(1)} ms)`);
  const upOnly = p.addToxic('latency', { ...P, latencyMs: 0 }, { direction: 'upstream', share: 1 });
  p.removeToxic(id);
  p.removeToxic(upOnly);
  const fast = await roundTrip(c, Buffer.from('z'));
  t.ok(fast < 290, `removed: ${fast.toFixed(1)} ms, below the 300 ms the latency alone would add`);
  // order is kept under jitter
  p.addToxic('latency', { ...P, latencyMs: 20, jitterMs: 15 }, { direction: 'downstream', share: 1 });
  for (let i = 0; i < 20; i++) c.socket.write(String.fromCharCode(97 + i));
  await waitFor(() => (c.received().length >= 3 + 20 ? true : undefined), 3_000, '20 bytes');
  t.equal(c.received().subarray(3).toString(), 'abcdefghijklmnopqrst', 'order kept under jitter');
  c.socket.destroy();
});

t.test('bandwidth limits throughput', async (t) => {
  const p = await proxyTo(t, await echoServer(t));
  const c = await connect(p.port);
  p.addToxic('bandwidth', { ...P, bytesPerSec: 20_000 }, { direction: 'downstream', share: 1 });
  const ms = await roundTrip(c, Buffer.alloc(10_000, 1), 5_000);
  t.ok(ms >= 450 && ms < 5_000, `10 kB at 20 kB/s took ${ms.toFixed(0)} ms (about 500)`);
  c.socket.destroy();
});

t.test('blackhole: data stops and nothing closes; lifting it lets new data through', async (t) => {
  const p = await proxyTo(t, await echoServer(t));
  const c = await connect(p.port);
  const id = p.addToxic('blackhole', P, { direction: 'upstream', share: 1 });
  c.socket.write('lost');
  await sleep(300);
  t.equal(c.received().length, 0, 'nothing came back');
  t.notOk(c.closed(), 'the connection stays open');
  t.equal(c.error(), null);
  p.removeToxic(id);
  await roundTrip(c, Buffer.from('back'));
  t.equal(c.received().toString(), 'back');
  c.socket.destroy();
});

t.test('reset: a real RST (ECONNRESET) on a share of the connections', async (t) => {
  const p = await proxyTo(t, await echoServer(t));
  const clients = await Promise.all([0, 1, 2, 3].map(() => connect(p.port)));
  await waitFor(() => (p.connectionCount === 4 ? true : undefined), 2_000, '4 proxied connections');
  t.equal(p.resetConnections(0.5), 2, 'half of 4 connections reset');
  await waitFor(() => (clients.filter((c) => c.closed()).length === 2 ? true : undefined), 2_000, '2 closed');
  const reset = clients.filter((c) => c.error()?.code === 'ECONNRESET');
  t.equal(reset.length, 2, 'the peers saw ECONNRESET, not a FIN');
  for (const c of clients.filter((x) => !x.closed())) await roundTrip(c, Buffer.from('still here'));
  for (const c of clients) c.socket.destroy();
});

t.test('slice splits writes into small pieces without changing the bytes', async (t) => {
  const p = await proxyTo(t, await echoServer(t));
  const c = await connect(p.port);
  p.addToxic('slice', { ...P, sliceBytes: 10, sliceDelayMs: 2 }, { direction: 'downstream', share: 1 });
  const data = Buffer.from(Array.from({ length: 400 }, (_, i) => i % 256));
  await roundTrip(c, data);
  t.same(c.received(), data, 'bytes intact');
  t.ok(c.chunks() >= 10, `arrived in ${c.chunks()} reads`);
  c.socket.destroy();
});

t.test('limit-data closes the connection after N bytes', async (t) => {
  const p = await proxyTo(t, await echoServer(t));
  const c = await connect(p.port);
  p.addToxic('limit-data', { ...P, limitBytes: 100 }, { direction: 'downstream', share: 1 });
  c.socket.write(Buffer.alloc(300, 7));
  await waitFor(() => (c.closed() ? true : undefined), 2_000, 'the close');
  t.equal(c.received().length, 100, 'exactly 100 bytes passed');
  t.equal(c.error(), null, 'closed normally (FIN), not reset');
});

t.test('a toxic applies to new connections, on its share of them', async (t) => {
  const p = await proxyTo(t, await echoServer(t));
  p.addToxic('blackhole', P, { direction: 'both', share: 0.5 });
  const clients = await Promise.all([0, 1, 2, 3].map(() => connect(p.port)));
  for (const c of clients) c.socket.write('?');
  await sleep(300);
  t.equal(clients.filter((c) => c.received().length === 1).length, 2, 'two of four answered');
  for (const c of clients) c.socket.destroy();
});
