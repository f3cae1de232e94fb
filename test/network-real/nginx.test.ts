import t from 'tap';
import { renderNginxConfig, streamModuleFrom } from '../../src/network/real/nginx.js';
import type { ResolvedBalancerSpec } from '../../src/network/real/real-balancer.js';
import { balancerConformance } from '../helpers/real-balancer.js';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

t.test('the stream module: built in, loadable, or missing', async (t) => {
  const debian = 'configure arguments: --prefix=/usr/share/nginx --modules-path=/usr/lib/nginx/modules --with-http_ssl_module --with-stream=dynamic --with-stream_ssl_module';
  t.same(streamModuleFrom(debian, (p) => p === '/usr/lib/nginx/modules/ngx_stream_module.so'), { kind: 'dynamic', path: '/usr/lib/nginx/modules/ngx_stream_module.so' });
  t.same(streamModuleFrom(debian, () => false), { kind: 'missing' }, 'dynamic but the package is not installed');
  t.same(streamModuleFrom('configure arguments: --prefix=/etc/nginx --with-stream --with-stream_ssl_module', () => false), { kind: 'built-in' });
  t.same(streamModuleFrom('configure arguments: --prefix=/opt/nginx --with-http_ssl_module', (p) => p === '/opt/nginx/modules/ngx_stream_module.so'), { kind: 'dynamic', path: '/opt/nginx/modules/ngx_stream_module.so' }, 'found under the prefix');
});

t.test('nginx.conf: stream pass-through and TLS-terminating http servers, everything in the work dir', async (t) => {
  const spec: ResolvedBalancerSpec = {
    kind: 'nginx',
    workDir: '/tmp/run-2',
    listenHost: '127.0.0.20',
    maxConnections: 9_950,
    timeouts: { connectMs: 5_000, clientMs: 60_000, serverMs: 60_000, tunnelMs: 3_600_000 },
    healthCheck: { intervalMs: 30_000 },
    frontends: [
      { mode: 'tcp', name: 'polling', port: 10943, balance: 'source', targets: [{ name: 'node1', host: '127.0.0.11', port: 10943 }] },
      { mode: 'tcp', name: 'node2', port: 10944, balance: 'leastconn', targets: [{ name: 'node2', host: '127.0.0.12', port: 10943 }] },
      { mode: 'http-tls', name: 'alb', port: 8443, certPem: CERT, keyPem: KEY, targets: [{ name: 'web1', host: '127.0.0.11', port: 443, tls: true }] },
    ],
  };
  const conf = renderNginxConfig(spec, { kind: 'dynamic', path: '/usr/lib/nginx/modules/ngx_stream_module.so' });
  const lines = conf.split('\n').map((l) => l.trim());
  const has = (line: string) => t.ok(lines.includes(line), `has: ${line}`);
  t.equal(lines.find((l) => !l.startsWith('#')), 'load_module /usr/lib/nginx/modules/ngx_stream_module.so;', 'the module is loaded first');
  has('daemon off;');
  has('pid /tmp/run-2/nginx.pid;');
  has('error_log stderr notice;');
  has('worker_connections 9950;');
  for (const temp of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) has(`${temp}_temp_path /tmp/run-2/nginx-temp-${temp};`);
  has('hash $remote_addr consistent;');
  has('least_conn;');
  has('listen 127.0.0.20:10943;');
  has('proxy_timeout 3600000ms;');
  has('server 127.0.0.11:10943 max_fails=1 fail_timeout=30s;');
  has('listen 127.0.0.20:8443 ssl;');
  has('ssl_certificate /tmp/run-2/tls-alb.crt;');
  has('ssl_certificate_key /tmp/run-2/tls-alb.key;');
  has('proxy_pass https://be-alb;');
  has('proxy_http_version 1.1;');
  has('proxy_set_header Upgrade $http_upgrade;');
  has('proxy_set_header Connection $connection_upgrade;');
  t.notMatch(conf, /\/var\/lib\/nginx|PRIVATE KEY/);

  const httpOnly = renderNginxConfig({ ...spec, frontends: [spec.frontends[2]!] }, { kind: 'dynamic', path: '/x.so' });
  t.notMatch(httpOnly, /load_module|stream \{/, 'no stream module without tcp frontends');
  const builtIn = renderNginxConfig({ ...spec, frontends: [spec.frontends[0]!] }, { kind: 'built-in' });
  t.notMatch(builtIn, /load_module|http \{/, 'a built-in module is not loaded; no http block without http-tls frontends');
});

balancerConformance(t, 'nginx');
