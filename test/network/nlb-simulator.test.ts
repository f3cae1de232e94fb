import t from 'tap';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { NlbSimulator, uniquePortLayout, type NetworkEvent, type NlbOptions } from '../../src/network/index.js';
import { generateCertificate, thumbprintOfDer } from '../../src/pki/index.js';
import { PING_PATH } from '../../src/scenario/defaults.js';
import { EchoTarget, HttpTarget, LOOPBACK, connect, watch } from '../helpers/network.js';
import { connectTls } from '../helpers/tls-pair.js';
import { sleep, waitFor } from '../helpers/wait.js';

async function targets(...names: string[]): Promise<EchoTarget[]> {
  return Promise.all(names.map((n) => new EchoTarget(n).start()));
}

async function nlb(t: { teardown(fn: () => unknown): void }, o: NlbOptions): Promise<NlbSimulator> {
  const b = new NlbSimulator(o);
  await b.start();
  t.teardown(() => b.stop());
  return b;
}

function oneGroup(ts: EchoTarget[], extra: Partial<NlbOptions['targetGroups'][number]> = {}): Pick<NlbOptions, 'listeners' | 'targetGroups'> {
  return { listeners: [{ port: 0, targetGroup: 'tg' }], targetGroups: [{ name: 'tg', targets: ts.map((x) => x.spec()), ...extra }] };
}

t.test('a connection is pinned to one target for its whole life', async (t) => {
  const ts = await targets('a', 'b', 'c');
  t.teardown(() => Promise.all(ts.map((x) => x.stop())));
  const b = await nlb(t, oneGroup(ts));
  const c = watch(await connect(b.ports[0]!));
  t.teardown(() => c.socket.destroy());
  for (let i = 0; i < 50; i++) {
    c.socket.write(`message ${i};`);
    await waitFor(() => c.text.endsWith(`message ${i};`), 2_000, `echo ${i}`);
  }
  const reached = ts.filter((x) => x.bytes > 0);
  t.equal(reached.length, 1, 'all writes reached a single target');
  t.equal(reached[0]!.connections.length, 1, 'one client connection = one target connection');
  t.equal(reached[0]!.bytes, c.bytes, 'every byte arrived and came back untouched');
  const s = b.stats().listeners[0]!;
  t.equal(s.targets.reduce((n, x) => n + x.activeConnections, 0), 1);
});

t.test('connections from one client spread over the targets', async (t) => {
  const ts = await targets('a', 'b', 'c');
  t.teardown(() => Promise.all(ts.map((x) => x.stop())));
  const b = await nlb(t, { ...oneGroup(ts), hashSeed: 7 });
  const sockets: net.Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  for (let i = 0; i < 30; i++) sockets.push(await connect(b.ports[0]!));
  await waitFor(() => ts.reduce((n, x) => n + x.connections.length, 0) === 30, 3_000, '30 target connections');
  const counts = ts.map((x) => x.connections.length);
  t.ok(counts.filter((n) => n > 0).length >= 2, `reached at least two targets (${counts.join('/')})`);
  t.ok(Math.max(...counts) <= 25, `no target took nearly everything (${counts.join('/')})`);
});

t.test('source-ip stickiness sends every connection of one client to one target', async (t) => {
  const ts = await targets('a', 'b', 'c');
  t.teardown(() => Promise.all(ts.map((x) => x.stop())));
  const b = await nlb(t, oneGroup(ts, { stickiness: 'source-ip' }));
  const sockets: net.Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  for (let i = 0; i < 12; i++) sockets.push(await connect(b.ports[0]!));
  await waitFor(() => ts.reduce((n, x) => n + x.connections.length, 0) === 12, 3_000, '12 target connections');
  t.equal(ts.filter((x) => x.connections.length > 0).length, 1);
});

t.test('idle expiry is silent, and the next packet resets both sides', async (t) => {
  const [a] = await targets('a');
  t.teardown(() => a!.stop());
  const events: NetworkEvent[] = [];
  const b = await nlb(t, { ...oneGroup([a!]), idleTimeoutMs: 300, onEvent: (e) => events.push(e) });
  const c = watch(await connect(b.ports[0]!));
  t.teardown(() => c.socket.destroy());
  c.socket.write('hello');
  await waitFor(() => c.text === 'hello', 2_000, 'echo');
  const server = a!.connections[0]!;
  await waitFor(() => events.some((e) => e.type === 'flow-idle-expired'), 2_000, 'idle expiry');
  await sleep(400);
  t.notOk(c.isEnded || c.isClosed || c.errorCode, 'client saw nothing at expiry');
  t.notOk(server.isEnded || server.isClosed || server.errorCode, 'target saw nothing at expiry');
  t.equal(b.stats().listeners[0]!.targets[0]!.activeConnections, 0, 'the flow left the table');
  t.equal(b.stats().listeners[0]!.targets[0]!.expiredFlows, 1);

  c.socket.write('are you there?');
  await waitFor(() => c.isClosed && server.isClosed, 2_000, 'both sides closed');
  t.equal(c.errorCode, 'ECONNRESET', 'client gets a reset');
  t.equal(server.errorCode, 'ECONNRESET', 'target gets a reset');
  t.equal(c.text, 'hello', 'the late data was not delivered');
  t.equal(server.bytes, 5);
  const reset = events.find((e) => e.type === 'flow-reset');
  t.match(reset, { type: 'flow-reset', reason: 'idle', target: 'a' });
  t.equal(b.stats().listeners[0]!.targets[0]!.resets.idle, 1);
});

t.test('traffic keeps a flow alive, and setIdleTimeout applies to existing flows', async (t) => {
  const [a] = await targets('a');
  t.teardown(() => a!.stop());
  // gaps of 100 ms against a 600 ms idle timeout: a loaded machine has 500 ms to spare per gap
  const b = await nlb(t, { ...oneGroup([a!]), idleTimeoutMs: 600 });
  const c = watch(await connect(b.ports[0]!));
  t.teardown(() => c.socket.destroy());
  for (let i = 0; i < 12; i++) {
    c.socket.write('k');
    await sleep(100);
  }
  await waitFor(() => c.bytes === 12, 2_000, 'echoes');
  t.equal(b.stats().listeners[0]!.targets[0]!.activeConnections, 1, 'still in the table after 1.2 s of keep-alives');
  b.setIdleTimeout(60_000);
  await sleep(1_000);
  c.socket.write('x');
  await waitFor(() => c.bytes === 13, 2_000, 'echo after the longer timeout');
  t.notOk(c.errorCode);
  t.throws(() => b.setIdleTimeout(-1), /idleTimeoutMs/);
});

t.test('TCP health checks: a stopped target turns unhealthy, a restarted one healthy', async (t) => {
  const [a, bb] = await targets('a', 'b');
  t.teardown(() => Promise.all([a!.stop(), bb!.stop()]));
  const events: NetworkEvent[] = [];
  const intervalMs = 100;
  const b = await nlb(t, {
    ...oneGroup([a!, bb!], { healthCheck: { intervalMs, timeoutMs: 80, unhealthyThreshold: 2, healthyThreshold: 3 } }),
    onEvent: (e) => events.push(e),
  });
  await sleep(250);
  t.same(events, [], 'no changes while both are up');
  const stoppedAt = Date.now();
  await a!.stop();
  await waitFor(() => events.some((e) => e.type === 'health-changed' && !e.isHealthy), 3_000, 'unhealthy');
  const downMs = Date.now() - stoppedAt;
  t.ok(downMs >= intervalMs && downMs <= 2 * intervalMs + 1_500, `unhealthy after ${downMs} ms (~2 x ${intervalMs})`);
  t.match(events[0], { type: 'health-changed', target: 'a', isHealthy: false, detail: 'ECONNREFUSED' });

  // new connections all go to b now
  const sockets: net.Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  // (probes connect too: count the connections that carried data)
  for (let i = 0; i < 6; i++) sockets.push((await connect(b.ports[0]!)).end('x'));
  await waitFor(() => bb!.connections.filter((c) => c.bytes > 0).length === 6, 2_000, 'six connections on b');

  const restartedAt = Date.now();
  await a!.restart();
  await waitFor(() => events.some((e) => e.type === 'health-changed' && e.isHealthy), 3_000, 'healthy again');
  const upMs = Date.now() - restartedAt;
  t.ok(upMs >= 2 * intervalMs && upMs <= 3 * intervalMs + 1_500, `healthy after ${upMs} ms (~3 x ${intervalMs})`);
  t.equal(b.stats().listeners[0]!.targets[0]!.isHealthy, true);
});

t.test('HTTP health check: a node answering 418 (drain) turns unhealthy', async (t) => {
  const [a] = await targets('a');
  const api = await new HttpTarget('a-api').start();
  t.teardown(() => Promise.all([a!.stop(), api.stop()]));
  const events: NetworkEvent[] = [];
  const b = await nlb(t, {
    listeners: [{ port: 0, targetGroup: 'tg' }],
    targetGroups: [{
      name: 'tg',
      targets: [{ ...a!.spec(), healthCheck: { port: api.port } }],
      healthCheck: { protocol: 'http', path: PING_PATH, intervalMs: 80, timeoutMs: 200, unhealthyThreshold: 2, healthyThreshold: 2 },
    }],
    onEvent: (e) => events.push(e),
  });
  await sleep(250);
  t.equal(b.stats().listeners[0]!.targets[0]!.isHealthy, true, '200 keeps it healthy');
  api.status = 418;
  await waitFor(() => events.length > 0, 2_000, 'health change');
  t.match(events[0], { type: 'health-changed', isHealthy: false, detail: 'status 418' });
  api.status = 302;
  await waitFor(() => events.length > 1, 2_000, 'healthy again');
  t.match(events[1], { isHealthy: true, detail: 'status 302' }, '3xx is inside the default 200-399 matcher');
});

t.test('fail-open: when every target is unhealthy, traffic goes to all of them', async (t) => {
  const ts = await targets('a', 'b');
  t.teardown(() => Promise.all(ts.map((x) => x.stop())));
  const b = await nlb(t, oneGroup(ts, { initialHealth: 'unhealthy', unhealthyTermination: 'drain' }));
  t.equal(b.stats().listeners[0]!.isFailOpen, true);
  const sockets: net.Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  for (let i = 0; i < 16; i++) sockets.push(await connect(b.ports[0]!));
  await waitFor(() => ts[0]!.connections.length + ts[1]!.connections.length === 16, 2_000, 'connections');
  t.ok(ts.every((x) => x.connections.length > 0), 'both unhealthy targets get connections');

  b.setHealth('b', true);
  t.equal(b.stats().listeners[0]!.isFailOpen, false);
  const before = ts[0]!.connections.length;
  for (let i = 0; i < 8; i++) sockets.push(await connect(b.ports[0]!));
  await waitFor(() => ts[0]!.connections.length + ts[1]!.connections.length === 24, 2_000, 'more connections');
  t.equal(ts[0]!.connections.length, before, 'only the healthy target gets new ones');
});

t.test('an unhealthy target: its flows are reset on their next packet (default) or left alone (drain)', async (t) => {
  for (const mode of ['reset', 'drain'] as const) {
    const [a, bb] = await targets('a', 'b');
    const events: NetworkEvent[] = [];
    const b = new NlbSimulator({
      listeners: [{ port: 0, targetGroup: 'only-a' }],
      targetGroups: [{ name: 'only-a', targets: [a!.spec(), bb!.spec()], ...(mode === 'drain' ? { unhealthyTermination: 'drain' } : {}) }],
      onEvent: (e) => events.push(e),
    });
    await b.start();
    b.deregister('b'); // keep every flow on a
    const c = watch(await connect(b.ports[0]!));
    c.socket.write('1');
    await waitFor(() => c.bytes === 1, 2_000, 'first echo');
    b.setHealth('a', false);
    // b is deregistered so a alone is registered: fail-open would keep routing to a, which is fine here
    c.socket.write('2');
    if (mode === 'reset') {
      await waitFor(() => c.isClosed, 2_000, 'reset');
      t.equal(c.errorCode, 'ECONNRESET', 'reset mode: client reset');
      await waitFor(() => a!.connections[0]!.isClosed, 2_000, 'target side closed');
      t.equal(a!.connections[0]!.errorCode, 'ECONNRESET', 'reset mode: target reset');
      t.match(events.find((e) => e.type === 'flow-reset'), { reason: 'unhealthy' });
    } else {
      await waitFor(() => c.bytes === 2, 2_000, 'second echo');
      t.notOk(c.errorCode, 'drain mode: the flow goes on');
    }
    c.socket.destroy();
    await b.stop();
    await a!.stop();
    await bb!.stop();
  }
});

t.test('deregistration: existing flows continue, new ones go elsewhere; termination at the end of the delay', async (t) => {
  const ts = await targets('a', 'b');
  t.teardown(() => Promise.all(ts.map((x) => x.stop())));
  const b = await nlb(t, oneGroup(ts, { deregistrationDelayMs: 600, deregistrationTermination: true }));
  const clients: ReturnType<typeof watch>[] = [];
  for (let i = 0; i < 12; i++) clients.push(watch(await connect(b.ports[0]!)));
  t.teardown(() => clients.forEach((c) => c.socket.destroy()));
  await waitFor(() => ts[0]!.connections.length + ts[1]!.connections.length === 12, 2_000, 'connections');
  const onA = ts[0]!.connections.length;
  t.ok(onA > 0, `some flows on a (${onA})`);

  b.deregister('a');
  t.equal(b.stats().listeners[0]!.targets[0]!.registration, 'draining');
  for (const c of clients) c.socket.write('x');
  await waitFor(() => clients.every((c) => c.bytes === 1), 2_000, 'every existing flow still works');
  for (let i = 0; i < 6; i++) clients.push(watch(await connect(b.ports[0]!)));
  await waitFor(() => ts[0]!.connections.length + ts[1]!.connections.length === 18, 2_000, 'new connections');
  t.equal(ts[0]!.connections.length, onA, 'no new flows to a deregistered target');

  await waitFor(() => ts[0]!.connections.every((c) => c.isClosed), 3_000, 'a flows reset at the end of the delay');
  t.ok(ts[0]!.connections.every((c) => c.errorCode === 'ECONNRESET'));
  t.ok(ts[1]!.connections.every((c) => !c.isClosed), 'b flows untouched');
  t.equal(b.stats().listeners[0]!.targets[0]!.resets.deregistration, onA);
  t.equal(b.stats().listeners[0]!.targets[0]!.registration, 'unused');
  b.register('a');
  t.equal(b.stats().listeners[0]!.targets[0]!.registration, 'registered');
});

t.test('deregistration without termination leaves flows open after the delay', async (t) => {
  const [a] = await targets('a');
  t.teardown(() => a!.stop());
  const b = await nlb(t, oneGroup([a!], { deregistrationDelayMs: 100 }));
  const c = watch(await connect(b.ports[0]!));
  t.teardown(() => c.socket.destroy());
  b.deregister('a');
  await sleep(300);
  c.socket.write('still here');
  await waitFor(() => c.text === 'still here', 2_000, 'echo after the delay');
  const refused = watch(net.connect({ port: b.ports[0]!, host: LOOPBACK }));
  await waitFor(() => refused.isClosed, 2_000, 'no registered target: refused');
  t.equal(refused.errorCode, 'ECONNRESET');
  t.equal(b.stats().listeners[0]!.refusedConnections, 1);
});

t.test('unique-port layout: listener P+i forwards to node i', async (t) => {
  const ts = await targets('node1', 'node2', 'node3');
  t.teardown(() => Promise.all(ts.map((x) => x.stop())));
  let b: NlbSimulator | undefined;
  let base = 0;
  for (let attempt = 0; attempt < 20 && !b; attempt++) {
    base = 20_000 + Math.floor(Math.random() * 40_000);
    const candidate = new NlbSimulator({ ...uniquePortLayout(base, ts.map((x) => x.spec())) });
    try {
      await candidate.start();
      b = candidate;
    } catch (e) {
      t.match((e as { kind?: string }).kind, 'environment.failed');
      await candidate.stop();
    }
  }
  if (!b) throw new Error('no free port range found');
  const nlbRef = b;
  t.teardown(() => nlbRef.stop());
  t.same(b.ports, [base, base + 1, base + 2]);
  for (let i = 0; i < 3; i++) {
    const s = await connect(base + i);
    await waitFor(() => ts[i]!.connections.length === 1, 2_000, `node${i + 1} connection`);
    s.destroy();
  }
  t.same(ts.map((x) => x.connections.length), [1, 1, 1]);
  t.same(b.stats().listeners.map((l) => l.targets.map((x) => x.name)), [['node1'], ['node2'], ['node3']]);
  t.throws(() => uniquePortLayout(65_535, ts.map((x) => x.spec())), /basePort/);
});

t.test('TCP listener passes mutual TLS through; a TLS listener presents the balancer certificate', async (t) => {
  const [nodeCert, tentacleCert, lbCert] = await Promise.all([
    generateCertificate({ commonName: 'Octopus Portal' }),
    generateCertificate({ commonName: 'Octopus Tentacle' }),
    generateCertificate({ commonName: 'Balancer' }),
  ]);
  const seenClientThumbprints: string[] = [];
  const node = tls.createServer({ cert: nodeCert.certPem, key: nodeCert.keyPem, requestCert: true, rejectUnauthorized: false }, (s) => {
    const raw = s.getPeerCertificate().raw;
    seenClientThumbprints.push(raw ? thumbprintOfDer(raw) : 'none');
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => node.listen(0, LOOPBACK, () => r()));
  t.teardown(() => new Promise<void>((r) => node.close(() => r())));
  const nodePort = (node.address() as AddressInfo).port;

  const b = await nlb(t, {
    listeners: [
      { port: 0, targetGroup: 'tg' },
      { port: 0, targetGroup: 'tg', tls: { certPem: lbCert.certPem, keyPem: lbCert.keyPem } },
    ],
    targetGroups: [{ name: 'tg', targets: [{ name: 'node1', host: LOOPBACK, port: nodePort }] }],
  });
  const client = { cert: tentacleCert.certPem, key: tentacleCert.keyPem };

  const through = await connectTls(b.ports[0]!, { tls: client });
  t.equal(thumbprintOfDer(through.getPeerCertificate().raw), nodeCert.thumbprint, 'TCP listener: the tentacle sees the node');
  through.write('ping');
  await waitFor(() => seenClientThumbprints.length === 1, 2_000, 'node accepted');
  t.equal(seenClientThumbprints[0], tentacleCert.thumbprint, 'TCP listener: the node sees the tentacle certificate');
  through.destroy();

  const terminated = await connectTls(b.ports[1]!, { tls: client });
  t.equal(thumbprintOfDer(terminated.getPeerCertificate().raw), lbCert.thumbprint, 'TLS listener: the tentacle sees the balancer');
  const w = watch(terminated);
  terminated.write('ping');
  await waitFor(() => w.text === 'ping', 2_000, 'echo through the TLS listener');
  t.equal(seenClientThumbprints[1], 'none', 'TLS listener: the node never sees the tentacle certificate');
  t.equal(b.stats().listeners[1]!.isTls, true);
  terminated.destroy();
});

t.test('fault hooks: resetAll and blackhole', async (t) => {
  const [a] = await targets('a');
  t.teardown(() => a!.stop());
  const events: NetworkEvent[] = [];
  const b = await nlb(t, { ...oneGroup([a!]), onEvent: (e) => events.push(e) });
  const c1 = watch(await connect(b.ports[0]!));
  t.teardown(() => c1.socket.destroy());
  b.blackhole('a', true);
  c1.socket.write('lost');
  await sleep(200);
  t.equal(a!.bytes, 0, 'blackholed data does not arrive');
  t.notOk(c1.isClosed, 'nothing closes');
  b.blackhole('a', false);
  c1.socket.write('ok');
  await waitFor(() => c1.text === 'ok', 2_000, 'data flows again');

  t.equal(b.resetAll('a'), 1);
  await waitFor(() => c1.isClosed, 2_000, 'reset');
  t.equal(c1.errorCode, 'ECONNRESET');
  t.match(events.at(-1), { type: 'flow-reset', reason: 'fault' });
  t.throws(() => b.blackhole('nope', true), /no target "nope"/);
});

t.test('bad options get clear messages; stop is idempotent', async (t) => {
  t.throws(() => new NlbSimulator({ listeners: [{ port: 0, targetGroup: 'x' }], targetGroups: [] }), /listeners\[0\]\.targetGroup: no target group "x"/);
  t.throws(() => new NlbSimulator({
    listeners: [{ port: 0, targetGroup: 'tg' }],
    targetGroups: [{ name: 'tg', targets: [{ name: 'a', host: LOOPBACK, port: 1 }], healthCheck: { successCodes: '2xx' } }],
  }), /successCodes "2xx"/);
  const b = new NlbSimulator({ listeners: [{ port: 0, targetGroup: 'tg' }], targetGroups: [{ name: 'tg', targets: [{ name: 'a', host: LOOPBACK, port: 1 }] }] });
  await b.start();
  await Promise.all([b.stop(), b.stop()]);
  await b.stop();
  await t.rejects(b.start(), /already stopped/);
});
