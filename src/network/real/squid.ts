import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { join, resolve } from 'node:path';
import { PollfleetError } from '../../core/errors.js';
import { Lifecycle } from '../../core/lifecycle.js';
import { PROXY_DEFAULTS, REAL_BALANCER_DEFAULTS } from '../../scenario/defaults.js';
import { findBinary, INSTALL_HINTS } from './find-binary.js';
import { reservePorts } from './real-balancer.js';
import { canConnect } from './can-connect.js';

/**
 * Real Squid (Debian package `squid`) as the HTTP CONNECT proxy of route kind proxy -- the
 * proxy Octopus tests every Tentacle release against. pollfleet writes a configuration into
 * the run folder (loopback only, a free port, no cache, CONNECT allowed to the nodes' ports
 * and nothing else, optional Basic authentication through Debian's basic_ncsa_auth helper
 * with a password file written here), runs `squid -N` in the foreground and stops it at the
 * end (SIGTERM, then SIGKILL) and when the process exits.
 */

/** Debian's Basic authentication helper reading an htpasswd-format file (crypt DES or MD5 `$1$`). */
export const SQUID_NCSA_HELPER = '/usr/lib/squid/basic_ncsa_auth';

export interface SquidSpec {
  /** The run folder's squid/ (config, password file, logs). */
  workDir: string;
  listenHost: string;
  /** 0 = a free port. */
  port: number;
  /** CONNECT is allowed to these destination ports only (the nodes' polling and REST API ports). */
  allowPorts: readonly number[];
  /** CONNECT to these ports is denied (403) even when allowPorts lists them. */
  denyPorts: readonly number[];
  /** Basic authentication Squid demands (407 without it); null = none. */
  auth: { username: string; password: string } | null;
}

export interface RunningSquid {
  host: string;
  port: number;
  configPath: string;
  /** The latest output of Squid (bounded). */
  logTail(): string;
  stop(): Promise<void>;
}

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function to64(v: number, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    out += CRYPT_ALPHABET[v & 0x3f];
    v >>>= 6;
  }
  return out;
}

/**
 * MD5-crypt (`$1$salt$hash`, the FreeBSD scheme crypt(3) and `openssl passwd -1` produce):
 * what basic_ncsa_auth accepts besides DES. Node has no crypt(3); this is the published
 * algorithm (1000 rounds of MD5 over password, salt and the previous digest).
 */
export function md5Crypt(password: string, salt: string): string {
  const pw = Buffer.from(password, 'utf8');
  const s = Buffer.from(salt.slice(0, 8), 'utf8');
  const magic = Buffer.from('$1$');
  const alt = createHash('md5').update(pw).update(s).update(pw).digest();
  const ctx = createHash('md5').update(pw).update(magic).update(s);
  for (let left = pw.length; left > 0; left -= 16) ctx.update(alt.subarray(0, Math.min(16, left)));
  for (let i = pw.length; i > 0; i >>>= 1) ctx.update(i & 1 ? Buffer.from([0]) : pw.subarray(0, 1));
  let digest = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const h = createHash('md5');
    h.update(i & 1 ? pw : digest);
    if (i % 3) h.update(s);
    if (i % 7) h.update(pw);
    h.update(i & 1 ? digest : pw);
    digest = h.digest();
  }
  const d = digest;
  const out =
    to64((d[0]! << 16) | (d[6]! << 8) | d[12]!, 4) +
    to64((d[1]! << 16) | (d[7]! << 8) | d[13]!, 4) +
    to64((d[2]! << 16) | (d[8]! << 8) | d[14]!, 4) +
    to64((d[3]! << 16) | (d[9]! << 8) | d[15]!, 4) +
    to64((d[4]! << 16) | (d[10]! << 8) | d[5]!, 4) +
    to64(d[11]!, 2);
  return `$1$${salt.slice(0, 8)}$${out}`;
}

/** One htpasswd line `user:$1$salt$hash` with a random salt. */
export function htpasswdLine(username: string, password: string): string {
  const salt = [...randomBytes(8)].map((b) => CRYPT_ALPHABET[b & 0x3f]).join('');
  return `${username}:${md5Crypt(password, salt)}\n`;
}

/**
 * The squid.conf for a spec with its port chosen: loopback only, no cache, CONNECT to the
 * allowed ports only, `deny` ports first (403), Basic authentication when asked for.
 * Squid's default configuration denies CONNECT to anything but 443 (`http_access deny
 * CONNECT !SSL_ports`) -- the first thing users hit with 10943.
 */
export function renderSquidConfig(spec: SquidSpec & { port: number; workDir: string }, helperPath = SQUID_NCSA_HELPER): string {
  const lines = [
    '# Written by pollfleet for one run (route kind proxy). Loopback only.',
    `http_port ${spec.listenHost}:${spec.port}`,
    'pid_filename none',
    'cache deny all',
    'cache_mem 8 MB',
    'access_log none',
    `cache_log stdio:${join(spec.workDir, 'cache.log')}`,
    `coredump_dir ${spec.workDir}`,
    `shutdown_lifetime ${Math.max(1, Math.round(PROXY_DEFAULTS.squidShutdownLifetimeMs / 1000))} seconds`,
    // Polling connections are long-lived and mostly idle between polls (30 s cycle).
    'read_timeout 1 hour',
    'client_lifetime 1 day',
    'acl CONNECT method CONNECT',
    `acl node_ports port ${spec.allowPorts.length ? [...new Set(spec.allowPorts)].join(' ') : '1'}`,
  ];
  if (spec.denyPorts.length) {
    lines.push(`acl denied_ports port ${[...new Set(spec.denyPorts)].join(' ')}`, 'http_access deny CONNECT denied_ports');
  }
  lines.push('http_access deny CONNECT !node_ports');
  if (spec.auth) {
    lines.push(
      `auth_param basic program ${helperPath} ${join(spec.workDir, 'passwords')}`,
      'auth_param basic children 2',
      'auth_param basic realm pollfleet',
      'acl authenticated proxy_auth REQUIRED',
      'http_access deny !authenticated',
    );
  }
  lines.push('http_access allow localhost', 'http_access deny all', '');
  return lines.join('\n');
}

/** uid/gid Squid drops to when started as root (cache_effective_user, `proxy` on Debian). */
function squidUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('proxy:'));
    const f = line?.split(':');
    return f ? { uid: Number(f[2]), gid: Number(f[3]) } : null;
  } catch {
    return null;
  }
}

/** Squid processes still running when this process exits are killed, so none outlives its run. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/**
 * Write the configuration (and the password file, 0600, readable by Squid's user), have
 * `squid -k parse` check it, start `squid -N` and wait until its port accepts connections.
 * A missing program is `environment.failed` with the apt-get line (exit 2).
 */
export async function startSquid(spec: SquidSpec, binaryPath?: string): Promise<RunningSquid> {
  if (!isIPv4(spec.listenHost)) throw new PollfleetError('input.invalid', `squid: listen address ${spec.listenHost} is not an IPv4 address`);
  const binary = binaryPath ?? findBinary('squid');
  if (spec.auth && !existsSync(SQUID_NCSA_HELPER)) {
    throw new PollfleetError('environment.failed', `squid's Basic authentication helper ${SQUID_NCSA_HELPER} is missing`, { hint: `install it: ${INSTALL_HINTS.squid}` });
  }
  const workDir = resolve(spec.workDir);
  await mkdir(workDir, { recursive: true, mode: 0o755 });
  const user = squidUser();
  // Squid started as root writes its log as its own user.
  if (user) await chown(workDir, user.uid, user.gid);
  const [port] = (await reservePorts(spec.listenHost, [spec.port])) as [number];
  const configPath = join(workDir, 'squid.conf');
  await writeFile(configPath, renderSquidConfig({ ...spec, workDir, port }), { mode: 0o644 });
  if (spec.auth) {
    const pwPath = join(workDir, 'passwords');
    await writeFile(pwPath, htpasswdLine(spec.auth.username, spec.auth.password), { mode: 0o600 });
    await chmod(pwPath, 0o600);
    if (user) await chown(pwPath, user.uid, user.gid);
  }
  const check = await new Promise<{ ok: boolean; output: string }>((ok) => {
    execFile(binary, ['-k', 'parse', '-f', configPath], { cwd: workDir, timeout: REAL_BALANCER_DEFAULTS.configCheckTimeoutMs }, (err, stdout, stderr) => {
      ok({ ok: err === null, output: `${stdout}${stderr}` });
    });
  });
  if (!check.ok) {
    throw new PollfleetError('environment.failed', `squid rejected the configuration ${configPath}:\n${check.output.trim().split('\n').slice(-10).join('\n')}`, {
      hint: INSTALL_HINTS.squid,
    });
  }
  const squid = new SquidProcess(binary, spec.listenHost, port, configPath, workDir);
  await squid.start();
  return squid;
}

class SquidProcess extends Lifecycle<void> implements RunningSquid {
  readonly name = 'squid';
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #hasExited = false;
  #tail = '';

  constructor(
    readonly binary: string,
    readonly host: string,
    readonly port: number,
    readonly configPath: string,
    readonly workDir: string,
  ) {
    super();
  }

  logTail(): string {
    return this.#tail;
  }

  #push = (c: Buffer): void => {
    this.#tail = (this.#tail + c.toString('utf8')).slice(-REAL_BALANCER_DEFAULTS.logTailBytes);
  };

  protected async onStart(): Promise<void> {
    const child = spawn(this.binary, ['-N', '-f', this.configPath], { cwd: this.workDir, stdio: ['ignore', 'pipe', 'pipe'] });
    const spawnError = new Promise<Error>((ok) => child.once('error', ok));
    this.#exited = new Promise((ok) => child.once('exit', () => {
      this.#hasExited = true;
      live.delete(child);
      ok();
    }));
    child.stdout!.on('data', this.#push);
    child.stderr!.on('data', this.#push);
    if (child.pid === undefined) {
      const e = await spawnError;
      throw new PollfleetError('environment.failed', `cannot start ${this.binary}: ${e.message}`, { hint: INSTALL_HINTS.squid, cause: e });
    }
    this.#child = child;
    track(child);
    const deadline = Date.now() + PROXY_DEFAULTS.squidStartTimeoutMs;
    for (;;) {
      if (this.#hasExited) throw new PollfleetError('environment.failed', `squid exited while starting:\n${this.#tail.trim().split('\n').slice(-10).join('\n')}`, { hint: `configuration: ${this.configPath}` });
      if (await canConnect(this.host, this.port, REAL_BALANCER_DEFAULTS.readinessProbeConnectTimeoutMs)) return;
      if (Date.now() >= deadline) {
        throw new PollfleetError('environment.failed', `squid did not accept connections on ${this.host}:${this.port} within ${PROXY_DEFAULTS.squidStartTimeoutMs} ms`, { hint: `configuration: ${this.configPath}` });
      }
      await new Promise((ok) => setTimeout(ok, PROXY_DEFAULTS.readinessProbeIntervalMs));
    }
  }

  /** SIGTERM (Squid lets tunnels finish for shutdown_lifetime), then SIGKILL after squidStopTimeoutMs. */
  protected async onStop(): Promise<void> {
    const child = this.#child;
    if (!child || this.#hasExited) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((ok) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        ok();
      }, PROXY_DEFAULTS.squidStopTimeoutMs);
    });
    await Promise.race([this.#exited, killed]);
    clearTimeout(timer);
    await this.#exited;
  }
}
