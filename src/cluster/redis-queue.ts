import { createClient } from 'redis';
import { now } from '../core/clock.js';
import { PollfleetError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import { bsonToMessage, encodeMessage, tryInflate } from '../halibut/codec.js';
import type { ResponseMessage } from '../halibut/messages.js';
import { CLUSTER_DEFAULTS, PROTOCOL_DEFAULTS } from '../scenario/defaults.js';
import type { QueueItem, QueueOutcome, WorkQueue } from './work-queue.js';

type Client = ReturnType<typeof createClient>;

/**
 * Multi-node polling through a real Redis, one RedisQueue per node process (Octopus Server
 * 2026.4+ shares its pending-request queue in Redis the same way in spirit):
 *
 * - a request is stored under `item:<owner>:<key>` (the wire-exact deflated RequestMessage,
 *   base64) and its id pushed onto the subscription's list; every node publishes "work for
 *   subscription S" on one channel;
 * - any node with a connection long-polling for S pops the list (LPOP is atomic: exactly one
 *   node gets it); a requeued item goes back to the front;
 * - the owner expires its own items: at the deadline it removes the id from the list (LREM);
 *   1 removed = never collected = expired;
 * - the serving node publishes the outcome on the owner's channel; the owner resolves.
 *
 * Keys live under a namespace per cluster run and are deleted when the queue closes.
 * Data streams are not carried (the embedded workload sends none).
 */
export interface RedisQueueOptions {
  url: string;
  /** Namespace of this cluster run (all nodes of one cluster share it). */
  namespace: string;
  /** The node this queue belongs to (owner of what it enqueues). */
  node: string;
  sink?: EventSink;
  expiryTickMinMs?: number;
}

interface OwnEntry {
  item: QueueItem;
  id: string;
  deadline: number;
  resolve: (o: QueueOutcome) => void;
}

interface Waiter {
  subscription: string;
  resolve: (item: QueueItem | null) => void;
  done: boolean;
  /** A pop is in flight for this waiter (at most one at a time, so no item is taken for nothing). */
  feeding: boolean;
  /** Work was announced while feeding: pop once more afterwards. */
  again: boolean;
}

const WORK_CHANNEL = 'work';

export class RedisQueue implements WorkQueue {
  readonly carriesDataStreams = false;
  readonly #o: RedisQueueOptions;
  #cmd: Client | null = null;
  #sub: Client | null = null;
  readonly #own = new Map<string, OwnEntry>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  #ticker: NodeJS.Timeout | null = null;
  #closed = false;
  #waiting = 0;

  constructor(o: RedisQueueOptions) {
    this.#o = o;
  }

  #k(...parts: string[]): string {
    return `pollfleet:${this.#o.namespace}:${parts.join(':')}`;
  }

  /** Connect both clients (commands, subscriptions). Unreachable Redis is an environment error. */
  async connect(): Promise<void> {
    const make = () => createClient({ url: this.#o.url, socket: { reconnectStrategy: false, connectTimeout: CLUSTER_DEFAULTS.nodeStartTimeoutMs } });
    try {
      this.#cmd = make();
      this.#cmd.on('error', () => undefined);
      await this.#cmd.connect();
      this.#sub = this.#cmd.duplicate();
      this.#sub.on('error', () => undefined);
      await this.#sub.connect();
    } catch (e) {
      await this.close();
      throw new PollfleetError('environment.failed', `Redis at ${redactUrl(this.#o.url)} is not reachable: ${(e as Error).message}`, {
        hint: 'start redis-server (apt-get install redis-server) or set cluster.redisUrl',
      });
    }
    await this.#sub.subscribe(this.#k(WORK_CHANNEL), (subscription) => this.#onWork(subscription));
    await this.#sub.subscribe(this.#k('outcome', this.#o.node), (msg) => this.#onOutcome(msg));
    const tick = Math.max(this.#o.expiryTickMinMs ?? CLUSTER_DEFAULTS.queueExpiryTickMinMs, 50);
    this.#ticker = setInterval(() => void this.#expireDue(), tick);
    this.#ticker.unref();
  }

  /** Is Redis answering (for /api/serverstatus/redis)? */
  async isReachable(): Promise<boolean> {
    try {
      return (await this.#cmd?.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async enqueue(item: QueueItem, collectTimeoutMs: number): Promise<QueueOutcome> {
    const cmd = this.#cmd;
    if (this.#closed || !cmd) return { outcome: 'failed', errorKind: 'internal', message: 'the queue is closed' };
    const id = `${item.owner}:${item.key}`;
    const payload = JSON.stringify({
      owner: item.owner, key: item.key, subscription: item.subscription, enqueuedAt: item.enqueuedAt,
      request: encodeMessage({ kind: 'request', request: item.request }).toString('base64'),
    });
    const outcome = new Promise<QueueOutcome>((resolve) => {
      this.#own.set(id, { item, id, deadline: item.enqueuedAt + collectTimeoutMs, resolve });
    });
    this.#sink({ type: 'request-queued', at: now(), node: item.owner, requestKey: item.key, subscription: item.subscription, service: item.request.service });
    this.#waiting++;
    // The item outlives its collection deadline a little so a late collector can still read it.
    const ttlMs = collectTimeoutMs + PROTOCOL_DEFAULTS.pollingRequestQueueTimeoutMs;
    await cmd.multi().set(this.#k('item', id), payload, { PX: Math.ceil(ttlMs) }).rPush(this.#k('q', item.subscription), id).publish(this.#k(WORK_CHANNEL), item.subscription).exec();
    return outcome;
  }

  #sink(e: Parameters<EventSink>[0]): void {
    this.#o.sink?.(e);
  }

  take(subscription: string, _servingNode: string, waitMs: number, signal: AbortSignal): Promise<QueueItem | null> {
    if (signal.aborted || this.#closed) return Promise.resolve(null);
    return new Promise<QueueItem | null>((resolve) => {
      // Registered before the first pop, so work published meanwhile is never missed.
      const waiter: Waiter = { subscription, resolve: () => undefined, done: false, feeding: false, again: false };
      let set = this.#waiters.get(subscription);
      if (!set) this.#waiters.set(subscription, (set = new Set()));
      const list = set;
      const finish = (item: QueueItem | null) => {
        if (waiter.done) return;
        waiter.done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        list.delete(waiter);
        if (!list.size && this.#waiters.get(subscription) === list) this.#waiters.delete(subscription);
        resolve(item);
      };
      waiter.resolve = finish;
      const onAbort = () => finish(null);
      const timer = setTimeout(() => finish(null), waitMs);
      signal.addEventListener('abort', onAbort, { once: true });
      list.add(waiter);
      this.#feed(waiter);
    });
  }

  /** Work was published for a subscription: the first local waiter tries to pop it. */
  #onWork(subscription: string): void {
    const set = this.#waiters.get(subscription);
    if (!set?.size) return;
    this.#feed(set.values().next().value as Waiter);
  }

  /** Pop for a waiter; an item that arrives after the waiter gave up goes back to the front. */
  #feed(waiter: Waiter): void {
    if (waiter.done) return;
    if (waiter.feeding) {
      waiter.again = true;
      return;
    }
    waiter.feeding = true;
    waiter.again = false;
    void this.#pop(waiter.subscription).then((item) => {
      waiter.feeding = false;
      if (item) {
        if (waiter.done) this.requeue(item);
        else waiter.resolve(item);
      } else if (waiter.again) this.#feed(waiter);
    });
  }

  async #pop(subscription: string): Promise<QueueItem | null> {
    const cmd = this.#cmd;
    if (!cmd || this.#closed) return null;
    for (;;) {
      const id = await cmd.lPop(this.#k('q', subscription)).catch(() => null);
      if (!id) return null;
      const raw = await cmd.get(this.#k('item', id)).catch(() => null);
      if (!raw) continue; // expired and gone
      const p = JSON.parse(raw) as { owner: string; key: number; subscription: string; enqueuedAt: number; request: string };
      const inflated = tryInflate(Buffer.from(p.request, 'base64'), PROTOCOL_DEFAULTS.maxMessageBytes);
      if (!inflated.done) continue;
      const m = bsonToMessage(inflated.bson);
      if (m.kind !== 'request') continue;
      return { key: p.key, owner: p.owner, subscription: p.subscription, enqueuedAt: p.enqueuedAt, request: m.request };
    }
  }

  requeue(item: QueueItem): void {
    const cmd = this.#cmd;
    if (!cmd || this.#closed) return;
    void cmd.multi().lPush(this.#k('q', item.subscription), `${item.owner}:${item.key}`).publish(this.#k(WORK_CHANNEL), item.subscription).exec().catch(() => undefined);
  }

  complete(item: QueueItem, outcome: QueueOutcome): void {
    const id = `${item.owner}:${item.key}`;
    if (item.owner === this.#o.node) {
      this.#settle(id, outcome);
      return;
    }
    const msg = JSON.stringify({ id, outcome: outcome.outcome === 'answered' ? { ...outcome, response: encodeMessage({ kind: 'response', response: outcome.response }).toString('base64') } : outcome });
    void this.#cmd?.publish(this.#k('outcome', item.owner), msg).catch(() => undefined);
  }

  #onOutcome(msg: string): void {
    const p = JSON.parse(msg) as { id: string; outcome: QueueOutcome & { response?: unknown } };
    let outcome: QueueOutcome = p.outcome;
    if (p.outcome.outcome === 'answered') {
      const inflated = tryInflate(Buffer.from(p.outcome.response as unknown as string, "base64"), PROTOCOL_DEFAULTS.maxMessageBytes);
      const m = inflated.done ? bsonToMessage(inflated.bson) : null;
      outcome = { outcome: 'answered', servedBy: p.outcome.servedBy, response: (m?.kind === 'response' ? m.response : null) as ResponseMessage };
    }
    this.#settle(p.id, outcome);
  }

  #settle(id: string, outcome: QueueOutcome): void {
    const e = this.#own.get(id);
    if (!e) return;
    this.#own.delete(id);
    this.#waiting = Math.max(0, this.#waiting - 1);
    e.resolve(outcome);
  }

  /** The owner's expiry: an item still on its list at the deadline was never collected. */
  async #expireDue(): Promise<void> {
    const cmd = this.#cmd;
    if (!cmd || this.#closed) return;
    const t = now();
    for (const e of this.#own.values()) {
      if (e.deadline > t) continue;
      const removed = await cmd.lRem(this.#k('q', e.item.subscription), 1, e.id).catch(() => 0);
      if (!this.#own.has(e.id)) continue;
      if (removed > 0) {
        this.#sink({ type: 'request-expired', at: now(), node: e.item.owner, requestKey: e.item.key, subscription: e.item.subscription, enqueuedAt: e.item.enqueuedAt });
        this.#settle(e.id, { outcome: 'expired' });
      } else {
        // Collected (or in flight): from now on only its outcome ends it.
        e.deadline = Infinity;
      }
    }
  }

  size(): number {
    return this.#waiting;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ticker) clearInterval(this.#ticker);
    for (const set of this.#waiters.values()) for (const w of set) w.resolve(null);
    this.#waiters.clear();
    for (const e of this.#own.values()) e.resolve({ outcome: 'failed', errorKind: 'internal', message: 'the queue was closed' });
    this.#own.clear();
    await closeClient(this.#sub);
    await closeClient(this.#cmd);
    this.#sub = this.#cmd = null;
  }
}

async function closeClient(c: Client | null): Promise<void> {
  if (!c) return;
  try {
    await c.close();
  } catch {
    try {
      c.destroy();
    } catch {
      /* never connected */
    }
  }
}

/** A Redis URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(unparseable URL)';
  }
}
