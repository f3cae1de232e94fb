import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { isIPv4, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { PollfleetError } from '../../core/errors.js';
import { REAL_BALANCER_DEFAULTS } from '../../scenario/defaults.js';
import { findBinary, INSTALL_HINTS, type BalancerBinary } from './find-binary.js';
import { Lifecycle } from '../../core/lifecycle.js';
import { haproxyDefinition } from './haproxy.js';
import { nginxDefinition } from './nginx.js';
import type {
  RealBalancerKind,
  RealBalancerSpec,
  RunningBalancer,
  RealBalancerSettings,
  ResolvedBalancerSpec,
  BalancerDefinition,
} from './real-balancer-types.js';
import { canConnect } from './can-connect.js';

/**
 * A real HAProxy or nginx process as a balancer: a spec describes its frontends (TCP
 * pass-through like an NLB, or TLS-terminating HTTP like an ALB), startRealBalancer writes
 * the configuration into the spec's workDir, has the program check it, runs the program in
 * the foreground as a child process and resolves once every frontend port accepts
 * connections. Each kind (haproxy.ts, nginx.ts) only turns the spec into files and
 * arguments; process handling lives here, once.
 */

export type {
  RealBalancerKind,
  BalanceAlgorithm,
  BalancerTarget,
  HttpBalancerTarget,
  TcpFrontend,
  HttpTlsFrontend,
  SniFrontend,
  RealFrontend,
  BalancerTimeouts,
  BalancerHealthCheck,
  RealBalancerSpec,
  RunningBalancer,
  RealBalancerSettings,
  ResolvedBalancerSpec,
  BalancerFile,
  BalancerDefinition,
} from './real-balancer-types.js';

export const DEFAULT_REAL_BALANCER_SETTINGS: RealBalancerSettings = {
  configCheckTimeoutMs: REAL_BALANCER_DEFAULTS.configCheckTimeoutMs,
  startTimeoutMs: REAL_BALANCER_DEFAULTS.startTimeoutMs,
  readinessProbeIntervalMs: REAL_BALANCER_DEFAULTS.readinessProbeIntervalMs,
  stopTimeoutMs: REAL_BALANCER_DEFAULTS.stopTimeoutMs,
  logTailBytes: REAL_BALANCER_DEFAULTS.logTailBytes,
  readinessProbeConnectTimeoutMs: REAL_BALANCER_DEFAULTS.readinessProbeConnectTimeoutMs,
  exitOutputWaitMs: REAL_BALANCER_DEFAULTS.exitOutputWaitMs,
};

const DEFINITIONS: Record<RealBalancerKind, BalancerDefinition> = {
  haproxy: haproxyDefinition,
  nginx: nginxDefinition,
};

// ---------------------------------------------------------------------------------------
// Spec validation

const MAX_TIMER_MS = 2_147_483_647;
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'expected a name of letters, digits, _ . - (at most 64)');
const port = z.number().int().min(0, 'expected a port from 0 to 65535').max(65535, 'expected a port from 0 to 65535');
const targetPort = z.number().int().min(1, 'expected a port from 1 to 65535').max(65535, 'expected a port from 1 to 65535');
const targetHost = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'expected an IPv4 address or a host name');
const durationMs = z.number().int().min(1, 'expected milliseconds >= 1').max(MAX_TIMER_MS, `expected milliseconds <= ${MAX_TIMER_MS}`);
const target = z.strictObject({
  name,
  host: targetHost,
  port: targetPort,
  check: z.strictObject({ host: targetHost, port: targetPort, tls: z.boolean().optional() }).optional(),
});
const distinctTargets = <T extends { name: string }>(ts: T[]) => new Set(ts.map((x) => x.name)).size === ts.length;

const specSchema = z.strictObject({
  kind: z.enum(['haproxy', 'nginx']),
  workDir: z
    .string()
    .min(1, 'expected a folder')
    .regex(/^[A-Za-z0-9_./+@:,=~-]+$/, 'expected a folder path without spaces, quotes or ; # $ characters'),
  listenHost: z.string().refine((h) => isIPv4(h), 'expected an IPv4 address such as 127.0.0.1'),
  frontends: z
    .array(
      z.discriminatedUnion('mode', [
        z.strictObject({
          mode: z.literal('tcp'),
          name,
          port,
          targets: z.array(target).min(1, 'expected at least one target').refine(distinctTargets, 'target names must be distinct'),
          balance: z.enum(['roundrobin', 'leastconn', 'source']).optional(),
        }),
        z.strictObject({
          mode: z.literal('http-tls'),
          name,
          port,
          certPem: z.string().includes('-----BEGIN CERTIFICATE-----', { message: 'expected a PEM certificate' }),
          keyPem: z.string().regex(/-----BEGIN (RSA |EC )?PRIVATE KEY-----/, 'expected a PEM private key'),
          targets: z
            .array(target.extend({ tls: z.boolean().optional() }))
            .min(1, 'expected at least one target')
            .refine(distinctTargets, 'target names must be distinct'),
          balance: z.enum(['roundrobin', 'leastconn']).optional(),
        }),
        z.strictObject({
          mode: z.literal('sni'),
          name,
          port,
          routes: z
            .array(z.strictObject({ serverName: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'expected a lower-case DNS name'), targets: z.array(target).refine(distinctTargets, 'target names must be distinct') }))
            .min(1, 'expected at least one server name')
            .refine((rs) => new Set(rs.map((r) => r.serverName)).size === rs.length, 'server names must be distinct'),
          inspectDelayMs: durationMs,
        }),
      ]),
    )
    .min(1, 'expected at least one frontend')
    .refine((fs) => new Set(fs.map((f) => f.name)).size === fs.length, 'frontend names must be distinct')
    .refine((fs) => {
      const fixed = fs.map((f) => f.port).filter((p) => p !== 0);
      return new Set(fixed).size === fixed.length;
    }, 'frontend ports must be distinct'),
  timeouts: z.strictObject({ connectMs: durationMs, clientMs: durationMs, serverMs: durationMs, tunnelMs: durationMs.optional() }),
  healthCheck: z
    .strictObject({
      intervalMs: durationMs,
      path: z.string().regex(/^\/[^\s;#'"{}]*$/, 'expected a path starting with / (no spaces, quotes, ; # { })').optional(),
      protocol: z.enum(['tcp', 'http', 'https']).optional(),
      timeoutMs: durationMs.optional(),
      healthyThreshold: z.number().int().min(1).max(100).optional(),
      unhealthyThreshold: z.number().int().min(1).max(100).optional(),
      onUnhealthy: z.enum(['reset', 'keep']).optional(),
    })
    .refine((h) => h.protocol === undefined || h.protocol === 'tcp' || h.path !== undefined, { message: 'an http(s) health check needs a path', path: ['path'] })
    .optional(),
  maxConnections: z.number().int().min(1).max(1_000_000).optional(),
});

/** Every problem with a spec at once, each with its field path; empty when the spec is usable. */
export function validateBalancerSpec(spec: unknown): string[] {
  const parsed = specSchema.safeParse(spec);
  if (!parsed.success) {
    return parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.').replace(/\.(\d+)/g, '[$1]') : '(spec)'}: ${i.message}`);
  }
  return DEFINITIONS[parsed.data.kind].validate(parsed.data as RealBalancerSpec);
}

// ---------------------------------------------------------------------------------------
// Ports

/**
 * The ports a balancer will listen on: each 0 becomes a free port chosen by the OS, and each
 * fixed port is checked to be free (a port held by another program would otherwise pass the
 * readiness probe). All test listeners stay open until every port is known, so the chosen
 * ports are distinct; haproxy and nginx cannot report a port the OS chose for them.
 */
export async function reservePorts(host: string, wanted: readonly number[]): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (const port of wanted) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((ok, fail) => {
        s.once('error', (e: NodeJS.ErrnoException) => {
          if (e.code === 'EADDRINUSE') {
            fail(new PollfleetError('environment.failed', `port ${port} on ${host} is already in use by another program`, {
              hint: 'choose another port, or 0 for a free one',
            }));
          } else {
            fail(new PollfleetError('environment.failed', `cannot listen on ${host}:${port}: ${e.message}`, {
              hint: 'listenHost must be an address of this machine (any 127.x.y.z works on Linux)',
              cause: e,
            }));
          }
        });
        s.listen({ host, port, exclusive: true }, () => ok());
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((ok) => (s.listening ? s.close(() => ok()) : ok()))));
  }
}

// ---------------------------------------------------------------------------------------
// Connection budget

/** Descriptors a balancer keeps for itself besides two per proxied connection. */
const RESERVED_DESCRIPTORS = 100;

/** This process's hard limit on open files (children inherit it), from /proc; null where unknown or unlimited. */
export function openFilesHardLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+\S+\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * The connection limit a balancer can really hold: each proxied connection takes two
 * descriptors, and HAProxy refuses to start when it cannot raise its limit that far.
 */
export function connectionBudget(wanted: number, hardLimit: number | null): number {
  if (hardLimit === null) return wanted;
  return Math.max(1, Math.min(wanted, Math.floor((hardLimit - RESERVED_DESCRIPTORS) / 2)));
}

// ---------------------------------------------------------------------------------------
// Output of the program

/** The last `limit` bytes of a program's stdout and stderr, cut at a line start when possible. */
class OutputTail {
  #chunks: Buffer[] = [];
  #bytes = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (this.#bytes - this.#chunks[0]!.length >= this.limit) this.#bytes -= this.#chunks.shift()!.length;
  }
  text(): string {
    let t = Buffer.concat(this.#chunks).toString('utf8');
    if (this.#bytes > this.limit) {
      t = t.slice(t.length - this.limit);
      const nl = t.indexOf('\n');
      if (nl >= 0 && nl < t.length - 1) t = t.slice(nl + 1);
    }
    return t;
  }
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).map((l) => `  ${l}`).join('\n');
}

// ---------------------------------------------------------------------------------------
// Processes

/** Processes still running when this process exits are killed, so no balancer outlives its run. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) {
        for (const pid of childPidsOf(c.pid!)) trySignal(pid, 'SIGKILL');
        c.kill('SIGKILL');
      }
    });
  }
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Direct children of a process (nginx's workers), from /proc; empty where there is no /proc. */
function childPidsOf(parent: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function isPidOf(pid: number, binary: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(binary);
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

/** Whether `p` settles within `ms` (the timer is cleared either way). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((ok) => (timer = setTimeout(() => ok(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function runCheck(binary: string, args: string[], cwd: string, timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((ok) => {
    execFile(binary, args, { cwd, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (err && (err as { killed?: boolean }).killed) ok({ ok: false, output: `${output}\n(no answer within ${timeoutMs} ms)` });
      else ok({ ok: err === null, output });
    });
  });
}

/**
 * Validate the spec, write the configuration, have the program check it, start it and wait
 * until every frontend port accepts connections. Errors: `input.invalid` for a bad spec,
 * `environment.failed` (with the program's own message) for everything the machine refuses.
 */
export async function startRealBalancer(
  spec: RealBalancerSpec,
  settings: RealBalancerSettings = DEFAULT_REAL_BALANCER_SETTINGS,
): Promise<RunningBalancer> {
  const issues = validateBalancerSpec(spec);
  if (issues.length > 0) {
    throw new PollfleetError('input.invalid', `balancer spec (${String((spec as { kind?: unknown }).kind)}): ${issues.join('; ')}`);
  }
  const def = DEFINITIONS[spec.kind];
  const binaryPath = settings.binaryPath ?? findBinary(def.binary);
  const workDir = resolve(spec.workDir);
  await mkdir(workDir, { recursive: true, mode: 0o700 });

  const ports = await reservePorts(spec.listenHost, spec.frontends.map((f) => f.port));
  const resolved: ResolvedBalancerSpec = {
    ...spec,
    workDir,
    frontends: spec.frontends.map((f, i) => ({ ...f, port: ports[i]! })),
    maxConnections: connectionBudget(spec.maxConnections ?? REAL_BALANCER_DEFAULTS.maxConnections, openFilesHardLimit()),
  };

  const files = await def.render(resolved, { binaryPath, commandTimeoutMs: settings.configCheckTimeoutMs });
  for (const f of files) {
    const path = join(workDir, f.name);
    await writeFile(path, f.content, { mode: f.isSecret ? 0o600 : 0o644 });
    if (f.isSecret) await chmod(path, 0o600);
  }
  const configPath = join(workDir, files[0]!.name);

  const check = await runCheck(binaryPath, def.checkArgs(configPath, workDir), workDir, settings.configCheckTimeoutMs);
  if (!check.ok) {
    throw new PollfleetError('environment.failed', `${spec.kind} rejected the configuration ${configPath}:\n${lastLines(check.output, 20)}`, {
      hint: `check the balancer spec; ${spec.kind} version and modules: ${INSTALL_HINTS[def.binary]}`,
    });
  }

  const balancer = new RealBalancerProcess({ kind: spec.kind, listenHost: spec.listenHost, binary: def.binary, binaryPath, workDir, configPath, runArgs: def.runArgs(configPath, workDir), ports, maxConnections: resolved.maxConnections, settings });
  await balancer.start();
  return balancer;
}

interface RealBalancerProcessOptions {
  kind: RealBalancerKind;
  listenHost: string;
  binary: BalancerBinary;
  binaryPath: string;
  workDir: string;
  configPath: string;
  runArgs: string[];
  ports: number[];
  maxConnections: number;
  settings: RealBalancerSettings;
}

/**
 * The running program, on the lifecycle base: start spawns it and waits until every frontend
 * port accepts connections; stop is SIGTERM, then SIGKILL after stopTimeoutMs, and kills any
 * worker left behind. A start that fails stops what it spawned.
 */
class RealBalancerProcess extends Lifecycle<void> implements RunningBalancer {
  readonly name: string;
  readonly kind: RealBalancerKind;
  readonly ports: number[];
  readonly configPath: string;
  readonly maxConnections: number;
  readonly #o: RealBalancerProcessOptions;
  readonly #tail: OutputTail;
  #child: ChildProcess | null = null;
  #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });
  #exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(o: RealBalancerProcessOptions) {
    super();
    this.#o = o;
    this.name = o.kind;
    this.kind = o.kind;
    this.ports = o.ports;
    this.configPath = o.configPath;
    this.maxConnections = o.maxConnections;
    this.#tail = new OutputTail(o.settings.logTailBytes);
  }

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  isRunning(): boolean {
    return this.#child !== null && this.#exitInfo === null;
  }

  /** The latest output of the program (bounded). Never holds a private key. */
  logTail(): string {
    return this.#tail.text();
  }

  protected async onStart(): Promise<void> {
    const { kind, listenHost, binary, binaryPath, workDir, configPath, runArgs, ports, settings } = this.#o;
    const tail = this.#tail;
    const child = spawn(binaryPath, runArgs, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#exited = new Promise((ok) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        ok({ code, signal });
      });
    });
    void this.#exited.then((info) => (this.#exitInfo = info));
    // 'close' follows 'exit' once the output pipes are drained (or never, while a worker holds them).
    const outputClosed = new Promise<void>((ok) => child.once('close', () => ok()));
    const spawnError = new Promise<Error>((ok) => child.once('error', ok));
    child.stdout!.on('data', (c: Buffer) => tail.push(c));
    child.stderr!.on('data', (c: Buffer) => tail.push(c));
    if (child.pid === undefined) {
      const e = await spawnError;
      throw new PollfleetError('environment.failed', `cannot start ${binaryPath}: ${e.message}`, { hint: INSTALL_HINTS[binary], cause: e });
    }
    this.#child = child;
    track(child);

    const deadline = Date.now() + settings.startTimeoutMs;
    const waiting = new Set(ports);
    while (waiting.size > 0) {
      if (this.#exitInfo !== null) {
        await settlesWithin(outputClosed, settings.exitOutputWaitMs ?? REAL_BALANCER_DEFAULTS.exitOutputWaitMs);
        const { code, signal } = this.#exitInfo;
        throw new PollfleetError(
          'environment.failed',
          `${kind} exited while starting (${signal ?? `exit code ${code}`}):\n${lastLines(tail.text(), 20)}`,
          { hint: `configuration: ${configPath}` },
        );
      }
      if (Date.now() >= deadline) {
        throw new PollfleetError(
          'environment.failed',
          `${kind} did not accept connections on ${listenHost}:${[...waiting].join(', ')} within ${settings.startTimeoutMs} ms:\n${lastLines(tail.text(), 20)}`,
          { hint: `configuration: ${configPath}` },
        );
      }
      for (const p of [...waiting]) {
        if (await canConnect(listenHost, p, settings.readinessProbeConnectTimeoutMs ?? REAL_BALANCER_DEFAULTS.readinessProbeConnectTimeoutMs)) waiting.delete(p);
      }
      if (waiting.size > 0) await delay(settings.readinessProbeIntervalMs);
    }
    if (this.#exitInfo !== null) {
      throw new PollfleetError('environment.failed', `${kind} exited right after starting:\n${lastLines(tail.text(), 20)}`, {
        hint: `configuration: ${configPath}`,
      });
    }
  }

  /** SIGTERM, then SIGKILL after stopTimeoutMs; resolves when the process (and any worker) is gone. */
  protected async onStop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const pid = child.pid!;
    const workers = childPidsOf(pid);
    if (this.#exitInfo === null) {
      child.kill('SIGTERM');
      if (!(await settlesWithin(this.#exited, this.#o.settings.stopTimeoutMs))) {
        for (const w of childPidsOf(pid)) trySignal(w, 'SIGKILL');
        child.kill('SIGKILL');
      }
      await this.#exited;
    }
    // Workers left behind by a killed master would keep the ports open.
    for (const w of workers) if (isPidOf(w, this.#o.binary)) trySignal(w, 'SIGKILL');
  }
}
