import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { PollfleetError } from '../../core/errors.js';
import { REDIS_SERVER_DEFAULTS } from '../../scenario/defaults.js';

/**
 * A redis-server on loopback that pollfleet starts and owns, configured as Octopus asks for
 * multi-node polling (no persistence, noeviction), so Redis faults can act on its process:
 * restart (all data lost), kill, pause (SIGSTOP) and resume (SIGCONT).
 */
export class RedisServer {
  readonly #program: string;
  readonly host: string;
  #port: number;
  #child: ChildProcess | null = null;
  #paused = false;

  constructor(program: string, options: { host?: string; port?: number } = {}) {
    this.#program = program;
    this.host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `redis://${this.host}:${this.#port}`;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** Start it (on the same port as before when restarted); resolves once it answers PING. */
  async start(): Promise<void> {
    if (this.#child) return;
    if (this.#port === 0) this.#port = await freePort(this.host);
    // its own working directory: nothing it might write (a CONFIG SET appendonly yes) lands in ours
    const dir = mkdtempSync(join(tmpdir(), 'pollfleet-redis-'));
    const args = ['--port', String(this.#port), '--bind', this.host, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--dir', dir];
    const child = spawn(this.#program, args, { stdio: 'ignore' });
    this.#child = child;
    this.#paused = false;
    child.on('error', () => undefined);
    child.once('exit', () => {
      if (this.#child === child) this.#child = null;
      rmSync(dir, { recursive: true, force: true });
    });
    const until = Date.now() + REDIS_SERVER_DEFAULTS.startTimeoutMs;
    while (Date.now() < until) {
      if (this.#child !== child) break;
      if (await ping(this.host, this.#port, REDIS_SERVER_DEFAULTS.pingTimeoutMs)) return;
      await new Promise((r) => setTimeout(r, REDIS_SERVER_DEFAULTS.pingIntervalMs));
    }
    child.kill('SIGKILL');
    throw new PollfleetError('environment.failed', `redis-server did not answer on ${this.host}:${this.#port} within ${REDIS_SERVER_DEFAULTS.startTimeoutMs} ms`, {
      hint: 'is redis-server installed (apt-get install redis-server) and the port free?',
    });
  }

  /** SIGKILL: every key is gone with it (no persistence). */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    if (this.#paused) child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  /** Kill and start again on the same port: Redis comes back empty. */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** SIGSTOP (true) / SIGCONT (false): connections stay open, nothing answers. */
  pause(on: boolean): void {
    if (!this.#child) throw new PollfleetError('environment.failed', 'redis-server is not running');
    this.#child.kill(on ? 'SIGSTOP' : 'SIGCONT');
    this.#paused = on;
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}

async function freePort(host: string): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r, j) => {
    srv.once('error', j);
    srv.listen(0, host, () => r());
  });
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function ping(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.setTimeout(timeoutMs, () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
  });
}
