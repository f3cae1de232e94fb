import { createClient } from 'redis';
import type { RedisQueueSettings } from '../../scenario/defaults.js';

export type RedisClient = ReturnType<typeof createClient>;

/** An operation gave up: Redis did not answer within the retry window. */
export class RedisUnavailableError extends Error {
  constructor(op: string, windowMs: number, cause: unknown) {
    super(`Redis did not answer ${op} within ${windowMs} ms: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'RedisUnavailableError';
  }
}

/**
 * One node's connection to Redis: a command client and a subscriber client, both reconnecting
 * on their own (node-redis reconnectStrategy, never `false`: one blip must not disable the
 * queue for the rest of a run), and every operation tried again until it succeeds or the
 * retry window is over, as Halibut's RedisFacade does (OctopusDeploy/Halibut,
 * source/Halibut/Queue/Redis/RedisHelpers/RedisFacade.cs).
 *
 * No promise of this class rejects unobserved: a try that times out keeps a handler on the
 * command (its late result goes to `late`, e.g. to put a popped id back).
 */
export class RedisLink {
  readonly #url: string;
  readonly #s: RedisQueueSettings;
  readonly #onHealth: (healthy: boolean) => void;
  cmd: RedisClient | null = null;
  sub: RedisClient | null = null;
  #healthy = true;
  #closed = false;
  #connected = false;

  constructor(url: string, settings: RedisQueueSettings, onHealth: (healthy: boolean) => void) {
    this.#url = url;
    this.#s = settings;
    this.#onHealth = onHealth;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** Connect both clients; throws when Redis cannot be reached at all. */
  async connect(): Promise<void> {
    const s = this.#s;
    const make = () =>
      createClient({
        url: this.#url,
        // commands fail at once while disconnected; the retry loop below owns the waiting
        disableOfflineQueue: true,
        socket: {
          connectTimeout: s.connectTimeoutMs,
          // the first connect fails fast (an environment error); after that, reconnect until closed
          reconnectStrategy: (retries: number) => (this.#closed || !this.#connected ? false : Math.min((retries + 1) * s.reconnectStepMs, s.reconnectMaxMs)),
        },
      });
    this.cmd = make();
    this.cmd.on('error', () => undefined);
    this.cmd.on('ready', () => this.#health(true));
    await this.cmd.connect();
    this.sub = this.cmd.duplicate();
    this.sub.on('error', () => undefined);
    await this.sub.connect();
    this.#connected = true;
  }

  #health(ok: boolean): void {
    if (this.#healthy === ok || this.#closed) return;
    this.#healthy = ok;
    this.#onHealth(ok);
  }

  /**
   * Run `op` until it succeeds, tries again every operationRetryIntervalMs while the retry
   * window lasts; each try gives up after commandTimeoutMs. Throws RedisUnavailableError.
   */
  async run<T>(name: string, op: (c: RedisClient) => Promise<T>, late?: (value: T) => void): Promise<T> {
    const s = this.#s;
    const until = Date.now() + s.operationRetryWindowMs;
    let last: unknown = new Error('not connected');
    for (;;) {
      if (this.#closed) throw new RedisUnavailableError(name, 0, new Error('the queue is closed'));
      const c = this.cmd;
      if (c?.isReady) {
        try {
          const v = await withTimeout(op(c), Math.min(s.commandTimeoutMs, Math.max(1, until - Date.now())), late);
          this.#health(true);
          return v;
        } catch (e) {
          last = e;
        }
      }
      if (Date.now() + s.operationRetryIntervalMs > until) {
        this.#health(false);
        throw new RedisUnavailableError(name, s.operationRetryWindowMs, last);
      }
      await sleep(s.operationRetryIntervalMs);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await closeClient(this.sub);
    await closeClient(this.cmd);
    this.sub = this.cmd = null;
  }
}

const TIMED_OUT = Symbol('timed out');

/** The value of `p`, or a rejection after `ms`; a late value goes to `late` (never unobserved). */
function withTimeout<T>(p: Promise<T>, ms: number, late?: (value: T) => void): Promise<T> {
  let timedOut = false;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      timedOut = true;
      reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: TIMED_OUT }));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        if (timedOut) late?.(v);
        else resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        if (!timedOut) reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function closeClient(c: RedisClient | null): Promise<void> {
  if (!c) return;
  try {
    if (c.isOpen) await c.close();
  } catch {
    /* closing a broken client */
  }
  try {
    c.destroy();
  } catch {
    /* already closed */
  }
}
