import t from 'tap';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { SniRouterSimulator, parseClientHelloSni } from '../../src/network/sni-router-simulator.js';
import { renderHaproxyConfig } from '../../src/network/real/haproxy.js';
import { renderNginxConfig } from '../../src/network/real/nginx.js';
import type { ResolvedBalancerSpec } from '../../src/network/real/real-balancer.js';
import { validateBalancerSpec } from '../../src/network/real/real-balancer.js';
import { generateCertificate, thumbprintOfDer } from '../../src/pki/index.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { PollfleetError } from '../../src/core/errors.js';
import { LOOPBACK } from '../helpers/network.js';

/** The first bytes a TLS client sends to `servername`. */
function clientHello(servername: string | undefined): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => {
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
        server.close();
      });
    });
    server.listen(0, LOOPBACK, () => {
      const port = (server.address() as net.AddressInfo).port;
      const c = tls.connect({ host: LOOPBACK, port, ...(servername ? { servername } : {}), rejectUnauthorized: false });
      c.on('error', () => c.destroy());
    });
  });
}

t.test('the server name is read from a real ClientHello, byte by byte', async (t) => {
  const hello = await clientHello('polling2.example.test');
  t.same(parseClientHelloSni(hello), { kind: 'name', name: 'polling2.example.test' });
  t.same(parseClientHelloSni(hello.subarray(0, 3)), { kind: 'need-more' });
  t.same(parseClientHelloSni(hello.subarray(0, 40)), { kind: 'need-more' }, 'a partial record waits for more');
  t.same(parseClientHelloSni(await clientHello(undefined)), { kind: 'no-name' }, 'no SNI');
  t.same(parseClientHelloSni(Buffer.from('MX-SUBSCRIBER 1.0 poll://x/\r\n')), { kind: 'not-tls' });
});

/** A TLS server that reports its own name, with its own certificate. */
async function tlsNode(t: { teardown(fn: () => unknown): void }, name: string) {
  const cert = await generateCertificate({ commonName: name });
  const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem }, (s) => s.end(name));
  await new Promise<void>((ok) => server.listen(0, LOOPBACK, ok));
  t.teardown(() => new Promise<void>((ok) => server.close(() => ok())));
  return { name, host: LOOPBACK, port: (server.address() as net.AddressInfo).port, thumbprint: thumbprintOfDer(Buffer.from(cert.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')) };
}

function ask(port: number, servername: string): Promise<{ text: string; thumbprint: string | null; error: string | null }> {
  return new Promise((resolve) => {
    let text = '';
    let thumbprint: string | null = null;
    const c = tls.connect({ host: LOOPBACK, port, servername, rejectUnauthorized: false });
    c.on('secureConnect', () => {
      thumbprint = thumbprintOfDer(c.getPeerCertificate().raw);
    });
    c.on('data', (d: Buffer) => (text += d.toString()));
    c.on('close', () => resolve({ text, thumbprint, error: null }));
    c.on('error', (e) => resolve({ text, thumbprint, error: e.message }));
    c.setTimeout(5_000, () => c.destroy());
  });
}

t.test('the simulator forwards TLS untouched by name, closes an unmapped name, and terminates TLS in http mode', async (t) => {
  const [n1, n2] = await Promise.all([tlsNode(t, 'node1'), tlsNode(t, 'node2')]);
  const router = new SniRouterSimulator({
    host: LOOPBACK,
    port: 0,
    routes: [
      { name: 'polling1.example.test', targets: [n1] },
      { name: 'polling2.example.test', targets: [n1] }, // misrouted
      { name: 'polling3.example.test', targets: [] }, // missing
    ],
  });
  const port = await router.start();
  t.teardown(() => router.stop());
  const one = await ask(port, 'polling1.example.test');
  t.equal(one.text, 'node1');
  t.equal(one.thumbprint, n1.thumbprint, 'the node\'s own certificate came through');
  t.equal((await ask(port, 'POLLING2.example.test')).text, 'node1', 'names match case-insensitively; the misroute reaches node1');
  const missing = await ask(port, 'polling3.example.test');
  t.equal(missing.text, '', 'an unmapped name gets nothing');
  t.equal(missing.thumbprint, null, 'no TLS session');
  t.same(router.stats().routed, { 'polling1.example.test': { node1: 1 }, 'polling2.example.test': { node1: 1 } });
  t.same(router.stats().unmapped, { 'polling3.example.test': 1 });
  void n2;

  const own = await generateCertificate({ commonName: 'proxy' });
  const http = new SniRouterSimulator({ host: LOOPBACK, port: 0, routes: [{ name: 'polling1.example.test', targets: [n1] }], mode: 'http', certPem: own.certPem, keyPem: own.keyPem });
  const hport = await http.start();
  t.teardown(() => http.stop());
  const viaHttp = await new Promise<string | null>((resolve) => {
    const c = tls.connect({ host: LOOPBACK, port: hport, servername: 'polling1.example.test', rejectUnauthorized: false }, () => {
      const tp = thumbprintOfDer(c.getPeerCertificate().raw);
      c.write('MX\r\n\r\n');
      c.on('data', (d: Buffer) => resolve(`${tp} ${d.toString().split('\r\n')[0]}`));
    });
    c.on('error', () => resolve(null));
  });
  t.notOk(viaHttp?.startsWith(n1.thumbprint), 'http mode presents the proxy\'s certificate, not the node\'s');
  t.match(viaHttp, /HTTP\/1\.1 400 Bad Request$/, 'raw polling bytes get a 400');
});

t.test('generated configs: HAProxy req.ssl_sni with inspect-delay, nginx ssl_preread with a map', async (t) => {
  const spec: ResolvedBalancerSpec = {
    kind: 'haproxy',
    workDir: '/tmp/run-1',
    listenHost: '127.0.0.10',
    maxConnections: 1_000,
    timeouts: { connectMs: 5_000, clientMs: 3_600_000, serverMs: 3_600_000, tunnelMs: 3_600_000 },
    frontends: [{
      mode: 'sni',
      name: 'sni',
      port: 443,
      inspectDelayMs: 5_000,
      routes: [
        { serverName: 'polling1.example.test', targets: [{ name: 'node1', host: '127.0.0.11', port: 10943 }] },
        { serverName: 'polling2.example.test', targets: [] },
      ],
    }],
  };
  t.same(validateBalancerSpec(spec), [], 'the spec is valid');
  const h = renderHaproxyConfig(spec).split('\n').map((l) => l.trim());
  for (const line of ['mode tcp', 'bind 127.0.0.10:443', 'tcp-request inspect-delay 5000ms', 'tcp-request content accept if { req.ssl_hello_type 1 }',
    'use_backend be-sni-1 if { req.ssl_sni -i polling1.example.test }', 'server node1 127.0.0.11:10943']) t.ok(h.includes(line), `haproxy: ${line}`);
  t.notOk(h.some((l) => l.startsWith('default_backend')), 'no default backend: an unknown name is closed');
  t.notOk(h.some((l) => l.includes('req.ssl_sni -i polling2.example.test')), 'the missing name has no rule');
  const n = renderNginxConfig({ ...spec, kind: 'nginx' }, { kind: 'dynamic', path: '/usr/lib/nginx/modules/ngx_stream_module.so' }).split('\n').map((l) => l.trim());
  for (const line of ['load_module /usr/lib/nginx/modules/ngx_stream_module.so;', 'map $ssl_preread_server_name $sni_sni {', 'polling1.example.test be-sni-1;',
    'polling2.example.test be-sni-none;', 'default be-sni-none;', 'ssl_preread on;', 'proxy_pass $sni_sni;', 'listen 127.0.0.10:443;']) t.ok(n.includes(line), `nginx: ${line}`);
});

t.test('route.sni resolves names per node, the router map and its mistakes; bad names are refused', async (t) => {
  const s = scenarioFromObject({ route: { kind: 'sni-passthrough', sni: { port: 0, misroute: { 'polling2.example.test': 'node1' }, missing: ['polling3.example.test'] } }, cluster: { nodes: 3, pollingPort: 0 } }, 'test');
  t.same(s.route.sni?.names.map((n) => n.name), ['polling1.example.test', 'polling2.example.test', 'polling3.example.test']);
  t.same(s.route.sni?.routes, [
    { name: 'polling1.example.test', nodes: ['node1'] },
    { name: 'polling2.example.test', nodes: ['node1'] },
    { name: 'polling3.example.test', nodes: [] },
  ]);
  t.equal(s.route.sni?.port, 0);
  const err = (raw: Record<string, unknown>) => {
    try {
      scenarioFromObject(raw, 'test');
    } catch (e) {
      if (e instanceof PollfleetError) return e.message;
      throw e;
    }
    return '';
  };
  t.match(err({ route: { kind: 'sni-passthrough', sni: { misroute: { 'polling9.example.test': 'node7' } } } }), /unknown name[\s\S]*unknown node "node7"/);
  t.match(err({ route: { kind: 'direct', sni: { port: 0 } } }), /SNI settings are for route kind sni-passthrough/);
  t.match(err({ route: { kind: 'sni-passthrough', transport: 'websocket' } }), /route.transport/);
});
