import t from 'tap';
import { renderHaproxyConfig } from '../../src/network/real/haproxy.js';
import type { ResolvedBalancerSpec } from '../../src/network/real/real-balancer.js';
import { balancerConformance } from '../helpers/real-balancer.js';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

t.test('haproxy.cfg: tcp pass-through and TLS-terminating frontends', async (t) => {
  const spec: ResolvedBalancerSpec = {
    kind: 'haproxy',
    workDir: '/tmp/run-1',
    listenHost: '127.0.0.20',
    maxConnections: 9_950,
    timeouts: { connectMs: 5_000, clientMs: 3_600_000, serverMs: 3_500_000 },
    healthCheck: { intervalMs: 30_000, path: '/api/octopusservernodes/ping' },
    frontends: [
      { mode: 'tcp', name: 'polling', port: 10943, balance: 'leastconn', targets: [{ name: 'node1', host: '127.0.0.11', port: 10943 }, { name: 'node2', host: '127.0.0.12', port: 10943 }] },
      { mode: 'http-tls', name: 'alb', port: 8443, certPem: CERT, keyPem: KEY, targets: [{ name: 'web1', host: '127.0.0.11', port: 443, tls: true }, { name: 'web2', host: '127.0.0.12', port: 80 }] },
    ],
  };
  const cfg = renderHaproxyConfig(spec);
  const has = (line: string) => t.ok(cfg.split('\n').some((l) => l.trim() === line), `has: ${line}`);
  has('maxconn 9950');
  has('pidfile /tmp/run-1/haproxy.pid');
  has('timeout connect 5000ms');
  has('timeout client 3600000ms');
  has('timeout server 3500000ms');
  has('timeout tunnel 3600000ms');
  has('default-server inter 30000ms');
  has('bind 127.0.0.20:10943');
  has('balance leastconn');
  has('server node1 127.0.0.11:10943 check');
  has('bind 127.0.0.20:8443 ssl crt /tmp/run-1/tls-alb.pem alpn http/1.1');
  has('mode http');
  has('option httpchk GET /api/octopusservernodes/ping');
  has('server web1 127.0.0.11:443 ssl verify none check');
  has('server web2 127.0.0.12:80 check');
  t.notMatch(cfg, /daemon|chroot|^\s*user /m, 'foreground, no chroot, no user switch');
  t.notMatch(cfg, /PRIVATE KEY/);

  const plain = renderHaproxyConfig({ ...spec, healthCheck: undefined, timeouts: { ...spec.timeouts, tunnelMs: 120_000 } });
  t.notMatch(plain, / check$|httpchk|inter /m, 'no health check unless asked');
  t.match(plain, /^\s*timeout tunnel 120000ms$/m);
  t.match(plain, /^\s*balance roundrobin$/m, 'round robin for the ALB stand-in');
});

balancerConformance(t, 'haproxy');
