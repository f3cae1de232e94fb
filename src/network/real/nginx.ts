import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PollfleetError } from '../../core/errors.js';
import { INSTALL_HINTS } from './find-binary.js';
import type {
  BalancerDefinition,
  BalancerFile,
  HttpTlsFrontend,
  RealBalancerSpec,
  ResolvedBalancerSpec,
  SniFrontend,
  TcpFrontend,
} from './real-balancer-types.js';

/**
 * nginx as a real balancer: `stream` servers pass TCP (and so TLS) through untouched;
 * `http` servers terminate TLS with their own certificate and proxy HTTP/1.1 with the
 * WebSocket upgrade headers. Everything nginx writes (pid, temp files) stays in the work
 * dir, so it needs neither root nor /var/lib/nginx. Open-source nginx has no active health
 * checks: a health check becomes passive (`max_fails=<unhealthy threshold, 1> fail_timeout=<interval>`);
 * a scenario that asks for one with nginx is rejected (src/scenario/real-balancer-settings.ts).
 */

const CONFIG_FILE = 'nginx.conf';
const STREAM_MODULE_FILE = 'ngx_stream_module.so';
/** Where distributions put dynamic modules when `nginx -V` does not say. */
const KNOWN_MODULE_DIRS = ['/usr/lib/nginx/modules', '/usr/lib64/nginx/modules', '/usr/share/nginx/modules', '/usr/local/nginx/modules'];

/** How this nginx provides the stream (TCP) module. */
export type StreamModule = { kind: 'built-in' } | { kind: 'dynamic'; path: string } | { kind: 'missing' };

/** Read `nginx -V` output: built in, a loadable .so (its path), or not available. */
export function streamModuleFrom(versionOutput: string, fileExists: (path: string) => boolean = existsSync): StreamModule {
  if (/--with-stream(?=\s|$)/.test(versionOutput)) return { kind: 'built-in' };
  const dirs: string[] = [];
  const modulesPath = /--modules-path=(\S+)/.exec(versionOutput)?.[1];
  if (modulesPath) dirs.push(modulesPath);
  const prefix = /--prefix=(\S+)/.exec(versionOutput)?.[1];
  if (prefix) dirs.push(join(prefix, 'modules'));
  dirs.push(...KNOWN_MODULE_DIRS);
  for (const dir of dirs) {
    const path = join(dir, STREAM_MODULE_FILE);
    if (fileExists(path)) return { kind: 'dynamic', path };
  }
  return { kind: 'missing' };
}

const streamModuleCache = new Map<string, Promise<StreamModule>>();

function detectStreamModule(binaryPath: string, timeoutMs: number): Promise<StreamModule> {
  let found = streamModuleCache.get(binaryPath);
  if (!found) {
    found = new Promise<StreamModule>((ok, fail) => {
      execFile(binaryPath, ['-V'], { timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err) fail(new PollfleetError('environment.failed', `cannot run ${binaryPath} -V: ${err.message}`, { cause: err }));
        else ok(streamModuleFrom(`${stdout}${stderr}`));
      });
    });
    streamModuleCache.set(binaryPath, found);
    found.catch(() => streamModuleCache.delete(binaryPath));
  }
  return found;
}

function keyFileName(f: HttpTlsFrontend): string {
  return `tls-${f.name}.key`;
}
function certFileName(f: HttpTlsFrontend): string {
  return `tls-${f.name}.crt`;
}

function serverLine(spec: ResolvedBalancerSpec, host: string, port: number): string {
  // fail_timeout takes whole seconds.
  const hc = spec.healthCheck;
  const passive = hc ? ` max_fails=${hc.unhealthyThreshold ?? 1} fail_timeout=${Math.max(1, Math.ceil(hc.intervalMs / 1000))}s` : '';
  return `      server ${host}:${port}${passive};`;
}

const BALANCE_DIRECTIVE: Record<NonNullable<TcpFrontend['balance']>, string | null> = {
  roundrobin: null,
  leastconn: 'least_conn;',
  source: 'hash $remote_addr consistent;',
};

/**
 * SNI passthrough in `stream`: `ssl_preread on` reads the ClientHello, a map picks the
 * upstream by `$ssl_preread_server_name`; a name without a mapping (or no name) maps to an
 * upstream whose only server is `down`, so nginx closes the connection (no default backend).
 */
function sniServer(spec: ResolvedBalancerSpec, f: SniFrontend): string[] {
  const t = spec.timeouts;
  const be = (i: number) => `be-${f.name}-${i + 1}`;
  const unmapped = `be-${f.name}-none`;
  return [
    `    map $ssl_preread_server_name $sni_${f.name.replace(/[^A-Za-z0-9_]/g, '_')} {`,
    ...f.routes.map((r, i) => `      ${r.serverName} ${r.targets.length ? be(i) : unmapped};`),
    `      default ${unmapped};`,
    '    }',
    ...f.routes.flatMap((r, i) => (r.targets.length ? [`    upstream ${be(i)} {`, ...r.targets.map((x) => serverLine(spec, x.host, x.port)), '    }'] : [])),
    `    upstream ${unmapped} {`,
    // a placeholder that is never tried: connections for unknown names fail at once
    `      server ${spec.listenHost}:1 down;`,
    '    }',
    '    server {',
    `      listen ${spec.listenHost}:${f.port};`,
    '      ssl_preread on;',
    `      preread_timeout ${f.inspectDelayMs}ms;`,
    `      proxy_pass $sni_${f.name.replace(/[^A-Za-z0-9_]/g, '_')};`,
    `      proxy_connect_timeout ${t.connectMs}ms;`,
    `      proxy_timeout ${t.tunnelMs ?? Math.max(t.clientMs, t.serverMs)}ms;`,
    '    }',
  ];
}

function streamBlock(spec: ResolvedBalancerSpec, frontends: TcpFrontend[], sni: SniFrontend[] = []): string[] {
  const t = spec.timeouts;
  const lines = ['stream {'];
  for (const f of sni) lines.push(...sniServer(spec, f));
  for (const f of frontends) {
    const balance = BALANCE_DIRECTIVE[f.balance ?? 'roundrobin'];
    lines.push(
      `    upstream be-${f.name} {`,
      ...(balance ? [`      ${balance}`] : []),
      ...f.targets.map((x) => serverLine(spec, x.host, x.port)),
      '    }',
      '    server {',
      `      listen ${spec.listenHost}:${f.port};`,
      `      proxy_pass be-${f.name};`,
      `      proxy_connect_timeout ${t.connectMs}ms;`,
      `      proxy_timeout ${t.tunnelMs ?? Math.max(t.clientMs, t.serverMs)}ms;`,
      '    }',
    );
  }
  lines.push('}');
  return lines;
}

function httpBlock(spec: ResolvedBalancerSpec, frontends: HttpTlsFrontend[]): string[] {
  const t = spec.timeouts;
  const temp = (name: string) => join(spec.workDir, `nginx-temp-${name}`);
  const lines = [
    'http {',
    '    access_log off;',
    `    client_body_temp_path ${temp('client_body')};`,
    `    proxy_temp_path ${temp('proxy')};`,
    `    fastcgi_temp_path ${temp('fastcgi')};`,
    `    uwsgi_temp_path ${temp('uwsgi')};`,
    `    scgi_temp_path ${temp('scgi')};`,
    // An empty Connection header keeps upstream keep-alive for ordinary requests.
    '    map $http_upgrade $connection_upgrade {',
    '      default upgrade;',
    "      '' '';",
    '    }',
  ];
  for (const f of frontends) {
    const scheme = f.targets.every((x) => x.tls) ? 'https' : 'http';
    lines.push(
      `    upstream be-${f.name} {`,
      ...(f.balance === 'leastconn' ? ['      least_conn;'] : []),
      ...f.targets.map((x) => serverLine(spec, x.host, x.port)),
      '      keepalive 32;',
      '    }',
      '    server {',
      `      listen ${spec.listenHost}:${f.port} ssl;`,
      `      ssl_certificate ${join(spec.workDir, certFileName(f))};`,
      `      ssl_certificate_key ${join(spec.workDir, keyFileName(f))};`,
      `      client_header_timeout ${t.clientMs}ms;`,
      `      client_body_timeout ${t.clientMs}ms;`,
      `      keepalive_timeout ${t.clientMs}ms;`,
      '      location / {',
      `        proxy_pass ${scheme}://be-${f.name};`,
      '        proxy_http_version 1.1;',
      '        proxy_set_header Host $host;',
      '        proxy_set_header Upgrade $http_upgrade;',
      '        proxy_set_header Connection $connection_upgrade;',
      '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '        proxy_set_header X-Forwarded-Proto https;',
      '        proxy_buffering off;',
      '        proxy_request_buffering off;',
      `        proxy_connect_timeout ${t.connectMs}ms;`,
      `        proxy_send_timeout ${t.tunnelMs ?? t.serverMs}ms;`,
      `        proxy_read_timeout ${t.tunnelMs ?? t.serverMs}ms;`,
      ...(scheme === 'https' ? ['        proxy_ssl_verify off;', '        proxy_ssl_server_name off;'] : []),
      '      }',
      '    }',
    );
  }
  lines.push('}');
  return lines;
}

/** nginx.conf for a resolved spec (every port chosen). Pure. */
export function renderNginxConfig(spec: ResolvedBalancerSpec, streamModule: StreamModule): string {
  const tcp = spec.frontends.filter((f): f is TcpFrontend => f.mode === 'tcp');
  const http = spec.frontends.filter((f): f is HttpTlsFrontend => f.mode === 'http-tls');
  const sni = spec.frontends.filter((f): f is SniFrontend => f.mode === 'sni');
  const stream = tcp.length > 0 || sni.length > 0;
  return [
    '# Generated by pollfleet at each start; edits are overwritten.',
    ...(stream && streamModule.kind === 'dynamic' ? [`load_module ${streamModule.path};`] : []),
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `worker_rlimit_nofile ${spec.maxConnections * 2 + 100};`,
    `pid ${join(spec.workDir, 'nginx.pid')};`,
    'error_log stderr notice;',
    'events {',
    `    worker_connections ${spec.maxConnections};`,
    '}',
    ...(stream ? streamBlock(spec, tcp, sni) : []),
    ...(http.length > 0 ? httpBlock(spec, http) : []),
    '',
  ].join('\n');
}

export const nginxDefinition: BalancerDefinition = {
  kind: 'nginx',
  binary: 'nginx',
  validate(spec: RealBalancerSpec): string[] {
    const issues: string[] = [];
    // Open-source nginx only notices failures passively (max_fails / fail_timeout).
    const hc = spec.healthCheck;
    if (hc?.protocol === 'http' || hc?.protocol === 'https') {
      issues.push(`healthCheck.protocol: open-source nginx has no active health checks (${hc.protocol} checks need NGINX Plus); use haproxy, or leave the check out`);
    }
    if (hc?.onUnhealthy === 'reset') {
      issues.push('healthCheck.onUnhealthy: open-source nginx cannot close the connections of a failed target; use haproxy, or keep');
    }
    spec.frontends.forEach((f, i) => {
      if (f.mode !== 'http-tls') return;
      const tls = f.targets.filter((x) => x.tls).length;
      if (tls !== 0 && tls !== f.targets.length) {
        issues.push(`frontends[${i}].targets: nginx proxies one frontend's targets with one scheme: make every target tls, or none`);
      }
    });
    return issues;
  },
  async render(spec: ResolvedBalancerSpec, host): Promise<BalancerFile[]> {
    const needsStream = spec.frontends.some((f) => f.mode === 'tcp' || f.mode === 'sni');
    const streamModule: StreamModule = needsStream ? await detectStreamModule(host.binaryPath, host.commandTimeoutMs) : { kind: 'built-in' };
    if (streamModule.kind === 'missing') {
      throw new PollfleetError('environment.failed', `nginx at ${host.binaryPath} has no stream (TCP) module, which tcp frontends need`, {
        hint: `install it: ${INSTALL_HINTS.nginx}`,
      });
    }
    const files: BalancerFile[] = [{ name: CONFIG_FILE, content: renderNginxConfig(spec, streamModule), isSecret: false }];
    for (const f of spec.frontends) {
      if (f.mode !== 'http-tls') continue;
      files.push({ name: certFileName(f), content: f.certPem, isSecret: false });
      files.push({ name: keyFileName(f), content: f.keyPem, isSecret: true });
    }
    return files;
  },
  // -e: messages before the configuration is read go to stderr too, not to a compiled-in log path.
  checkArgs: (configPath, workDir) => ['-t', '-q', '-e', 'stderr', '-p', `${workDir}/`, '-c', configPath],
  runArgs: (configPath, workDir) => ['-e', 'stderr', '-p', `${workDir}/`, '-c', configPath],
};
