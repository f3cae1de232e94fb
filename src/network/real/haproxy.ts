import { join } from 'node:path';
import type {
  BalancerDefinition,
  BalancerTarget,
  BalancerFile,
  HttpTlsFrontend,
  RealBalancerSpec,
  SniFrontend,
  ResolvedBalancerSpec,
  TcpFrontend,
} from './real-balancer-types.js';

/**
 * HAProxy as a real balancer: `mode tcp` frontends pass TLS through untouched (the NLB
 * path); `http-tls` frontends terminate TLS with their own certificate and proxy HTTP/1.1
 * (the ALB path, which answers raw polling bytes with 400). Runs in the foreground (-db),
 * where its warnings and alerts (server DOWN/UP) go to stderr (no per-connection log); no
 * chroot or user switch, so it runs as root or not.
 */

const CONFIG_FILE = 'haproxy.cfg';

function tlsFileName(f: HttpTlsFrontend): string {
  return `tls-${f.name}.pem`;
}

function timeoutsBlock(spec: ResolvedBalancerSpec): string[] {
  const t = spec.timeouts;
  return [
    `    timeout connect ${t.connectMs}ms`,
    `    timeout client ${t.clientMs}ms`,
    `    timeout server ${t.serverMs}ms`,
    `    timeout tunnel ${t.tunnelMs ?? Math.max(t.clientMs, t.serverMs)}ms`,
    `    timeout client-fin ${t.clientMs}ms`,
    `    timeout server-fin ${t.serverMs}ms`,
  ];
}

/**
 * ` check` plus where it goes: a tcp frontend's HTTP(S) check goes to the target's `check`
 * address (the node's REST API) with `addr`/`port`, HTTPS without verifying the certificate.
 */
function checkArgs(spec: ResolvedBalancerSpec, t: BalancerTarget, isHttpCheck: boolean): string {
  if (!spec.healthCheck) return '';
  const c = isHttpCheck ? t.check : undefined;
  if (!c) return ' check';
  return ` check addr ${c.host} port ${c.port}${c.tls ? ' check-ssl verify none' : ''}`;
}

function tcpSections(spec: ResolvedBalancerSpec, f: TcpFrontend): string[] {
  const hc = spec.healthCheck;
  const isHttpCheck = !!hc && (hc.protocol === 'http' || hc.protocol === 'https') && !!hc.path;
  return [
    `frontend fe-${f.name}`,
    '    mode tcp',
    `    bind ${spec.listenHost}:${f.port}`,
    `    default_backend be-${f.name}`,
    '',
    `backend be-${f.name}`,
    '    mode tcp',
    `    balance ${f.balance ?? 'roundrobin'}`,
    ...(isHttpCheck ? [`    option httpchk GET ${hc.path}`] : []),
    ...f.targets.map((t) => `    server ${t.name} ${t.host}:${t.port}${checkArgs(spec, t, isHttpCheck)}`),
    '',
  ];
}

function httpTlsSections(spec: ResolvedBalancerSpec, f: HttpTlsFrontend): string[] {
  const hc = spec.healthCheck;
  const check = hc ? ' check' : '';
  return [
    `frontend fe-${f.name}`,
    '    mode http',
    `    bind ${spec.listenHost}:${f.port} ssl crt ${join(spec.workDir, tlsFileName(f))} alpn http/1.1`,
    '    option forwardfor',
    '    http-request set-header X-Forwarded-Proto https',
    `    default_backend be-${f.name}`,
    '',
    `backend be-${f.name}`,
    '    mode http',
    `    balance ${f.balance ?? 'roundrobin'}`,
    ...(hc?.path ? [`    option httpchk GET ${hc.path}`] : []),
    ...f.targets.map((t) => `    server ${t.name} ${t.host}:${t.port}${t.tls ? ' ssl verify none' : ''}${check}`),
    '',
  ];
}

/**
 * SNI passthrough: wait up to inspect-delay for a whole ClientHello, then pick the backend by
 * `req.ssl_sni`; no default backend, so a name without a mapping (or no name) is closed.
 * The TLS stream passes untouched (mode tcp): the node's certificate reaches the tentacle.
 */
function sniSections(spec: ResolvedBalancerSpec, f: SniFrontend): string[] {
  const be = (i: number) => `be-${f.name}-${i + 1}`;
  const mapped = f.routes.map((r, i) => ({ ...r, backend: be(i) })).filter((r) => r.targets.length > 0);
  return [
    `frontend fe-${f.name}`,
    '    mode tcp',
    `    bind ${spec.listenHost}:${f.port}`,
    `    tcp-request inspect-delay ${f.inspectDelayMs}ms`,
    '    tcp-request content accept if { req.ssl_hello_type 1 }',
    ...mapped.map((r) => `    use_backend ${r.backend} if { req.ssl_sni -i ${r.serverName} }`),
    ...f.routes.filter((r) => r.targets.length === 0).map((r) => `    # ${r.serverName}: no mapping (connections for it are closed)`),
    '',
    ...mapped.flatMap((r) => [
      `backend ${r.backend}`,
      '    mode tcp',
      '    balance roundrobin',
      ...r.targets.map((t) => `    server ${t.name} ${t.host}:${t.port}`),
      '',
    ]),
  ];
}

/** The health check's timing, once for every server: interval, thresholds, timeout, what a DOWN does to sessions. */
function healthCheckDefaults(spec: ResolvedBalancerSpec): string[] {
  const hc = spec.healthCheck;
  if (!hc) return [];
  const server =
    `    default-server inter ${hc.intervalMs}ms` +
    (hc.healthyThreshold !== undefined ? ` rise ${hc.healthyThreshold}` : '') +
    (hc.unhealthyThreshold !== undefined ? ` fall ${hc.unhealthyThreshold}` : '') +
    (hc.onUnhealthy === 'reset' ? ' on-marked-down shutdown-sessions' : '');
  return [server, ...(hc.timeoutMs !== undefined ? [`    timeout check ${hc.timeoutMs}ms`] : [])];
}

/** haproxy.cfg for a resolved spec (every port chosen). Pure. */
export function renderHaproxyConfig(spec: ResolvedBalancerSpec): string {
  const lines = [
    '# Generated by pollfleet at each start; edits are overwritten.',
    'global',
    `    maxconn ${spec.maxConnections}`,
    `    pidfile ${join(spec.workDir, 'haproxy.pid')}`,
    '',
    'defaults',
    '    mode tcp',
    `    maxconn ${spec.maxConnections}`,
    ...timeoutsBlock(spec),
    ...healthCheckDefaults(spec),
    '',
  ];
  for (const f of spec.frontends) lines.push(...(f.mode === 'tcp' ? tcpSections(spec, f) : f.mode === 'sni' ? sniSections(spec, f) : httpTlsSections(spec, f)));
  return lines.join('\n');
}

export const haproxyDefinition: BalancerDefinition = {
  kind: 'haproxy',
  binary: 'haproxy',
  validate(spec: RealBalancerSpec): string[] {
    const issues: string[] = [];
    const hc = spec.healthCheck;
    if (hc && (hc.protocol === 'http' || hc.protocol === 'https')) {
      spec.frontends.forEach((f, i) => {
        if (f.mode !== 'tcp') return;
        f.targets.forEach((t, j) => {
          if (!t.check) issues.push(`frontends[${i}].targets[${j}].check: an ${hc.protocol} health check of a tcp frontend needs the address to check (the node's REST API)`);
        });
      });
    }
    return issues;
  },
  async render(spec: ResolvedBalancerSpec): Promise<BalancerFile[]> {
    const files: BalancerFile[] = [{ name: CONFIG_FILE, content: renderHaproxyConfig(spec), isSecret: false }];
    for (const f of spec.frontends) {
      if (f.mode !== 'http-tls') continue;
      // HAProxy reads the certificate and its key from one file.
      files.push({ name: tlsFileName(f), content: `${f.certPem.trimEnd()}\n${f.keyPem.trimEnd()}\n`, isSecret: true });
    }
    return files;
  },
  checkArgs: (configPath) => ['-c', '-f', configPath],
  runArgs: (configPath) => ['-db', '-f', configPath],
};
