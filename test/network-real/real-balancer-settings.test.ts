import t from 'tap';
import * as http from 'node:http';
import { renderHaproxyConfig } from '../../src/network/real/haproxy.js';
import { renderNginxConfig } from '../../src/network/real/nginx.js';
import { realL4Spec, realL7Spec } from '../../src/network/real/real-balancer-spec.js';
import { startRealBalancer, validateBalancerSpec, type RealBalancerSpec, type ResolvedBalancerSpec } from '../../src/network/real/real-balancer.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import type { TargetSpec } from '../../src/network/target-group.js';
import {
  LOOPBACK,
  TEST_SETTINGS,
  ask,
  connectTcp,
  makeWorkDir,
  startNameTarget,
  testWithBalancer,
  within,
  type NamedTarget,
} from '../helpers/real-balancer.js';

// Every route.nlb / route.alb setting a scenario writes reaches a real HAProxy / nginx
// configuration, or the scenario is rejected naming the field (exit 2 before anything starts).

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

function scenario(route: Record<string, unknown>) {
  return scenarioFromObject({ name: 'real', route, cluster: { nodes: 2, pollingPort: 0 }, duration: '5s' }, 'real');
}

const nodes: TargetSpec[] = [
  { name: 'node1', host: '127.0.0.11', port: 10943, healthCheck: { protocol: 'https', host: '127.0.0.11', port: 8443, path: '/api/octopusservernodes/ping' } },
  { name: 'node2', host: '127.0.0.12', port: 10943, healthCheck: { protocol: 'https', host: '127.0.0.12', port: 8443, path: '/api/octopusservernodes/ping' } },
];
const tcpNodes: TargetSpec[] = nodes.map(({ name, host, port }) => ({ name, host, port }));

const resolved = (spec: RealBalancerSpec): ResolvedBalancerSpec => ({
  ...spec,
  frontends: spec.frontends.map((f, i) => ({ ...f, port: 20000 + i })),
  maxConnections: 1000,
});
const lines = (cfg: string) => cfg.split('\n').map((l) => l.trim());

t.test('nothing set: the real balancer keeps its own defaults (no check, long idle timeouts, round robin)', async (t) => {
  const s = scenario({ kind: 'single-address', balancer: 'haproxy' });
  t.same(s.route.realBalancer, { idleTimeoutMs: null, healthCheck: null, onUnhealthy: null });
  const spec = realL4Spec({ kind: 'haproxy', workDir: '/tmp/x', listenHost: '127.0.0.20', layout: 'single', basePort: 0, targets: tcpNodes, route: s.route });
  t.same(spec.timeouts, { connectMs: 5_000, clientMs: 3_600_000, serverMs: 3_600_000 });
  t.equal(spec.healthCheck, undefined);
  t.same(validateBalancerSpec(spec), []);
  const cfg = lines(renderHaproxyConfig(resolved(spec)));
  t.ok(cfg.includes('balance roundrobin'));
  t.notOk(cfg.some((l) => / check|httpchk|inter /.test(l)), 'no health check');
});

t.test('haproxy, layer 4: idle timeout, source-ip stickiness and an HTTPS health check of the REST API', async (t) => {
  const s = scenario({
    kind: 'single-address', balancer: 'haproxy',
    nlb: { idleTimeout: '120s', stickiness: 'source-ip', healthCheck: { protocol: 'https', interval: '5s', timeout: '2s', healthyThreshold: 3, unhealthyThreshold: 2 } },
  });
  const spec = realL4Spec({ kind: 'haproxy', workDir: '/tmp/x', listenHost: '127.0.0.20', layout: 'single', basePort: 0, targets: nodes, route: s.route });
  t.same(validateBalancerSpec(spec), []);
  const cfg = lines(renderHaproxyConfig(resolved(spec)));
  for (const want of [
    'timeout client 120000ms',
    'timeout server 120000ms',
    'timeout tunnel 120000ms',
    'balance source',
    'option httpchk GET /api/octopusservernodes/ping',
    'default-server inter 5000ms rise 3 fall 2 on-marked-down shutdown-sessions',
    'timeout check 2000ms',
    'server node1 127.0.0.11:10943 check addr 127.0.0.11 port 8443 check-ssl verify none',
  ]) t.ok(cfg.includes(want), `has: ${want}`);
});

t.test('haproxy, layer 4: a tcp check connects; onUnhealthy drain keeps the sessions', async (t) => {
  const s = scenario({ kind: 'nlb-unique-port', balancer: 'haproxy', nlb: { healthCheck: { protocol: 'tcp', interval: '10s' }, onUnhealthy: 'drain' } });
  const spec = realL4Spec({ kind: 'haproxy', workDir: '/tmp/x', listenHost: '127.0.0.20', layout: 'unique-port', basePort: 10943, targets: tcpNodes, route: s.route });
  t.same(spec.frontends.map((f) => f.port), [10943, 10944]);
  const cfg = lines(renderHaproxyConfig(resolved(spec)));
  t.ok(cfg.includes('server node1 127.0.0.11:10943 check'));
  t.notOk(cfg.some((l) => /httpchk|shutdown-sessions/.test(l)));
  t.ok(cfg.some((l) => l.startsWith('default-server inter 10000ms')));
});

t.test('nginx, layer 4: idle timeout becomes proxy_timeout, source-ip stickiness hashes the client address', async (t) => {
  const s = scenario({ kind: 'single-address', balancer: 'nginx', nlb: { idleTimeout: '90s', stickiness: 'source-ip' } });
  const spec = realL4Spec({ kind: 'nginx', workDir: '/tmp/x', listenHost: '127.0.0.20', layout: 'single', basePort: 0, targets: tcpNodes, route: s.route });
  t.same(validateBalancerSpec(spec), []);
  const cfg = lines(renderNginxConfig(resolved(spec), { kind: 'built-in' }));
  t.ok(cfg.includes('proxy_timeout 90000ms;'));
  t.ok(cfg.includes('hash $remote_addr consistent;'));
  t.notOk(cfg.some((l) => /max_fails/.test(l)), 'no (passive) health check');
});

t.test('layer 7 (alb): least-outstanding routing and the health check', async (t) => {
  const route = scenario({ kind: 'alb', balancer: 'haproxy', alb: { routing: 'least-outstanding', idleTimeout: '30s', healthCheck: { interval: '4s', unhealthyThreshold: 3 } } }).route;
  const input = { workDir: '/tmp/x', listenHost: '127.0.0.20', port: 0, certPem: CERT, keyPem: KEY, targets: [{ name: 'node1', host: '127.0.0.11', port: 8443, tls: true }], route };
  const h = realL7Spec({ kind: 'haproxy', ...input });
  t.same(validateBalancerSpec(h), []);
  const cfg = lines(renderHaproxyConfig(resolved(h)));
  for (const want of ['balance leastconn', 'timeout client 30000ms', 'option httpchk GET /api/octopusservernodes/ping', 'server node1 127.0.0.11:8443 ssl verify none check']) {
    t.ok(cfg.includes(want), `has: ${want}`);
  }
  t.ok(cfg.some((l) => l.startsWith('default-server inter 4000ms') && l.includes('fall 3')));
  const nginxRoute = scenario({ kind: 'alb', balancer: 'nginx', alb: { routing: 'least-outstanding' } }).route;
  const n = realL7Spec({ kind: 'nginx', ...input, route: nginxRoute });
  t.ok(lines(renderNginxConfig(resolved(n), { kind: 'built-in' })).includes('least_conn;'));
  // Unchanged when nothing is set: round robin, idle timeout as before.
  const plain = realL7Spec({ kind: 'haproxy', ...input, route: scenario({ kind: 'alb', balancer: 'haproxy' }).route });
  t.same(plain.timeouts, { connectMs: 5_000, clientMs: 60_000, serverMs: 60_000 });
  t.equal(plain.healthCheck, undefined);
  t.ok(lines(renderHaproxyConfig(resolved(plain))).includes('balance roundrobin'));
});

t.test('what a real balancer cannot do is rejected, naming the field', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ kind: 'single-address', balancer: 'nginx', nlb: { healthCheck: { interval: '5s' } } }, /route\.nlb\.healthCheck.*nginx has no active health checks/],
    [{ kind: 'nlb-unique-port', balancer: 'nginx', nlb: { onUnhealthy: 'reset' } }, /route\.nlb\.onUnhealthy/],
    [{ kind: 'alb', balancer: 'nginx', alb: { healthCheck: { path: '/ping' } } }, /route\.alb\.healthCheck.*nginx/],
    [{ kind: 'single-address', balancer: 'haproxy', nlb: { hashSeed: 7 } }, /route\.nlb\.hashSeed.*simulator/],
    [{ kind: 'single-address', balancer: 'nginx', nlb: { tlsListener: true } }, /route\.nlb\.tlsListener.*simulator/],
    [{ kind: 'single-address', balancer: 'haproxy', nlb: { deregistrationDelay: '10s' } }, /route\.nlb\.deregistrationDelay/],
    [{ kind: 'alb', balancer: 'haproxy', alb: { mtls: 'passthrough' } }, /route\.alb\.mtls/],
  ];
  for (const [route, message] of cases) {
    t.throws(() => scenario(route), { name: 'PollfleetError', message }, JSON.stringify(route));
  }
  t.doesNotThrow(() => scenario({ kind: 'single-address', balancer: 'simulator', nlb: { hashSeed: 7, healthCheck: { interval: '5s' } } }), 'the simulator takes them all');
  t.doesNotThrow(() => scenario({ kind: 'single-address', balancer: 'haproxy', nlb: { healthCheck: { interval: '5s' }, onUnhealthy: 'reset' } }));
});

t.test('spec level: nginx refuses active checks; haproxy needs the address of an HTTP check', async (t) => {
  const base = { workDir: '/tmp/x', listenHost: '127.0.0.1', timeouts: { connectMs: 1_000, clientMs: 1_000, serverMs: 1_000 } };
  const tcp = { mode: 'tcp' as const, name: 'p', port: 0, targets: [{ name: 'n1', host: '127.0.0.1', port: 1 }] };
  t.match(validateBalancerSpec({ ...base, kind: 'nginx', frontends: [tcp], healthCheck: { intervalMs: 1_000, protocol: 'http', path: '/ping' } }), [/healthCheck\.protocol: open-source nginx has no active health checks/]);
  t.match(validateBalancerSpec({ ...base, kind: 'haproxy', frontends: [tcp], healthCheck: { intervalMs: 1_000, protocol: 'http', path: '/ping' } }), [/targets\[0\]\.check/]);
  t.match(validateBalancerSpec({ ...base, kind: 'haproxy', frontends: [tcp], healthCheck: { intervalMs: 1_000, protocol: 'http' } }), [/healthCheck\.path/]);
});

/** An HTTP health endpoint whose answer can be switched. */
async function startHealth(): Promise<{ port: number; status: number; close(): Promise<void> }> {
  const h = { port: 0, status: 200, close: async () => {} };
  const server = http.createServer((_req, res) => res.writeHead(h.status).end());
  await new Promise<void>((ok) => server.listen(0, LOOPBACK, ok));
  h.port = (server.address() as { port: number }).port;
  h.close = () => new Promise<void>((ok) => {
    server.closeAllConnections();
    server.close(() => ok());
  });
  return h;
}

testWithBalancer(t, 'haproxy', 'haproxy: an HTTP health check of the REST API takes a failing node out of a tcp frontend', async (t, binaryPath) => {
  const targets: NamedTarget[] = await Promise.all([startNameTarget('node1'), startNameTarget('node2')]);
  const health = await Promise.all([startHealth(), startHealth()]);
  t.teardown(async () => {
    await Promise.all(targets.map((x) => x.close()));
    await Promise.all(health.map((h) => h.close()));
  });
  const spec: RealBalancerSpec = {
    kind: 'haproxy',
    workDir: await makeWorkDir(t, 'haproxy-hc'),
    listenHost: LOOPBACK,
    timeouts: { connectMs: 2_000, clientMs: 60_000, serverMs: 60_000 },
    healthCheck: { intervalMs: 100, timeoutMs: 2_000, protocol: 'http', path: '/api/octopusservernodes/ping', healthyThreshold: 1, unhealthyThreshold: 1, onUnhealthy: 'reset' },
    frontends: [{
      mode: 'tcp', name: 'polling', port: 0,
      targets: targets.map((x, i) => ({ name: x.name, host: x.host, port: x.port, check: { host: LOOPBACK, port: health[i]!.port } })),
    }],
  };
  const b = await startRealBalancer(spec, { ...TEST_SETTINGS, binaryPath });
  t.teardown(() => b.stop());
  // Which targets answer a few new connections (a connection the balancer closes answers nothing).
  const seen = async (n: number) => {
    const names = new Set<string>();
    for (let i = 0; i < n; i++) {
      const s = await connectTcp(b.ports[0]!);
      const answer = await within(ask(s, 'hi'), 'an answer').catch(() => '');
      if (answer) names.add(answer.split(':')[0]!);
      s.destroy();
    }
    return [...names].sort();
  };
  /** Bounded wait (a busy machine may delay a check) until the answering targets are `want`. */
  const until = async (want: string[]) => {
    const deadline = Date.now() + 8_000;
    let got: string[] = [];
    while (Date.now() < deadline) {
      got = await seen(6);
      if (JSON.stringify(got) === JSON.stringify(want)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return got;
  };
  t.same(await until(['node1', 'node2']), ['node1', 'node2'], 'both healthy: round robin reaches both');
  health[1]!.status = 503;
  const now = await until(['node1']);
  t.same(now, ['node1'], 'node2 failed its check and gets no new connections');
});

testWithBalancer(t, 'haproxy', 'haproxy accepts the layer-4 configuration with an HTTPS check of the REST API and a check timeout', async (t, binaryPath) => {
  const target = await startNameTarget('node1');
  t.teardown(() => target.close());
  const route = scenario({ kind: 'single-address', balancer: 'haproxy', nlb: { idleTimeout: '120s', stickiness: 'source-ip', healthCheck: { protocol: 'https', interval: '5s', timeout: '2s' } } }).route;
  const spec = realL4Spec({
    kind: 'haproxy', workDir: await makeWorkDir(t, 'haproxy-https-check'), listenHost: LOOPBACK, layout: 'single', basePort: 0, route,
    targets: [{ name: 'node1', host: target.host, port: target.port, healthCheck: { protocol: 'https', host: LOOPBACK, port: 1, path: '/api/octopusservernodes/ping' } }],
  });
  const b = await startRealBalancer(spec, { ...TEST_SETTINGS, binaryPath });
  t.teardown(() => b.stop());
  t.ok(b.isRunning(), `started with ${b.configPath}`);
});
