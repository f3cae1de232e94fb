import { randomUUID } from 'node:crypto';
import { now } from '../core/clock.js';
import { PollfleetError } from '../core/errors.js';
import type { EventSink, RedisQueueEvent } from '../core/events.js';
import { bsonToMessage, encodeMessage, tryInflate } from '../halibut/codec.js';
import type { ResponseMessage } from '../halibut/messages.js';
import { CLUSTER_DEFAULTS, PROTOCOL_DEFAULTS, REDIS_QUEUE_DEFAULTS, type RedisQueueSettings } from '../scenario/defaults.js';
import { RedisLink } from './redis/redis-link.js';
import type { QueueItem, QueueOutcome, WorkQueue } from './work-queue.js';

/**
 * Multi-node polling through a real Redis, one RedisQueue per node process, designed after
 * Halibut's Redis pending-request queue (OctopusDeploy/Halibut docs/RedisQueue.md and
 * source/Halibut/Queue/Redis/: RedisPendingRequestQueue.cs, NodeHeartBeat/*,
 * ResponseMessageTransfer/PollAndSubscribeToResponse.cs,
 * RedisDataLossDetection/WatchForRedisLosingAllItsData.cs):
 *
 * - a request is stored under `item:<id>` (the wire-exact deflated RequestMessage, base64;
 *   TTL = collection timeout + PollingRequestQueueTimeout) and its id pushed onto the
 *   subscription's list; a publish on `work` wakes the waiters of every node;
 * - a node with a connection long-polling for the subscription pops the list and takes the
 *   item (GETDEL: the request leaves Redis when it is dequeued, a stray duplicate id finds
 *   nothing) and announces the collection on `hb`;
 * - heartbeats per in-flight request both ways on `hb` (every heartbeatIntervalMs, the first
 *   after heartbeatInitialDelayMs): the sender fails a collected request whose processing
 *   node went silent for senderGivesUpAfterMs; the processor abandons one whose sender went
 *   silent for processorGivesUpAfterMs (its response is not stored);
 * - the response is stored under `resp:<id>` (TTL responseTtlMs) and announced on the
 *   owner's `outcome:<node>` channel; the owner also polls for it (first after
 *   responsePollFirstMs, then +step, at most max), so a lost publish never hangs a request;
 * - every Redis operation is retried for operationRetryWindowMs (src/cluster/redis/redis-link.ts);
 *   a dequeue that still fails rejects take() after a random 0..dequeueErrorDropMaxMs, which
 *   drops the tentacle's connection (it reconnects, perhaps to a healthy node) instead of
 *   sending null messages while no work flows;
 * - a marker key per node is checked every dataLossCheckIntervalMs: gone = Redis lost all its
 *   data, every request this node sent is failed (counted) and the marker set again;
 * - Redis faults are events (`redis-queue`), never a rejection nobody handles.
 *
 * Keys live under a namespace per cluster run. Data streams are not carried.
 */
export interface RedisQueueOptions {
  url: string;
  /** Namespace of this cluster run (all nodes of one cluster share it). */
  namespace: string;
  /** The node this queue belongs to (owner of what it enqueues). */
  node: string;
  sink?: EventSink;
  expiryTickMinMs?: number;
  /** Timings (tests shorten them); unset = REDIS_QUEUE_DEFAULTS. */
  settings?: Partial<RedisQueueSettings>;
  /** Test hook: drop this outcome announcement instead of publishing it (a lost publish). */
  dropPublish?: (channel: string) => boolean;
}

interface OwnEntry {
  item: QueueItem;
  id: string;
  deadline: number;
  resolve: (o: QueueOutcome) => void;
  collected: boolean;
  /** Collected by this node: no heartbeats needed (the process is alive by definition). */
  local: boolean;
  lastProcessorBeat: number;
  nextPollAt: number;
  pollStepMs: number;
  busy: boolean;
}

interface HeldEntry {
  owner: string;
  collectedAt: number;
  lastSenderBeat: number;
  abandoned: boolean;
}

interface Waiter {
  subscription: string;
  resolve: (item: QueueItem | null) => void;
  fail: (e: Error) => void;
  done: boolean;
  /** A pop is in flight for this waiter (at most one at a time, so no item is taken for nothing). */
  feeding: boolean;
  /** Work was announced while feeding: pop once more afterwards. */
  again: boolean;
  /** The wait is over; it ends with the pop in flight (a pop that is retrying holds the null back). */
  timedOut: boolean;
}

interface Beat {
  /** c = collected, p = processor heartbeat, s = sender heartbeat, u = given back uncollected. */
  r: 'c' | 'p' | 's' | 'u';
  node: string;
  ids: string[];
}

const WORK_CHANNEL = 'work';
const BEAT_CHANNEL = 'hb';

export class RedisQueue implements WorkQueue {
  readonly carriesDataStreams = false;
  readonly #o: RedisQueueOptions;
  readonly #s: RedisQueueSettings;
  readonly #link: RedisLink;
  readonly #own = new Map<string, OwnEntry>();
  readonly #held = new Map<string, HeldEntry>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  #ticker: NodeJS.Timeout | null = null;
  #closed = false;
  #marker = randomUUID();
  #nextSenderBeat = 0;
  #nextProcessorBeat = 0;
  #nextDataCheck = 0;
  #checkingData = false;

  constructor(o: RedisQueueOptions) {
    this.#o = o;
    this.#s = { ...REDIS_QUEUE_DEFAULTS, ...o.settings };
    this.#link = new RedisLink(o.url, this.#s, (ok) => this.#event(ok ? 'recovered' : 'unavailable'));
  }

  #k(...parts: string[]): string {
    return `pollfleet:${this.#o.namespace}:${parts.join(':')}`;
  }

  /** Connect both clients (commands, subscriptions). Unreachable Redis is an environment error. */
  async connect(): Promise<void> {
    try {
      await this.#link.connect();
      const sub = this.#link.sub!;
      await sub.subscribe(this.#k(WORK_CHANNEL), (subscription) => this.#onWork(subscription));
      await sub.subscribe(this.#k('outcome', this.#o.node), (id) => this.#fetchResponse(id));
      await sub.subscribe(this.#k(BEAT_CHANNEL), (msg) => this.#onBeat(msg));
      await this.#link.cmd!.set(this.#markerKey(), this.#marker, { PX: this.#s.dataLossMarkerTtlMs });
    } catch (e) {
      await this.close();
      throw new PollfleetError('environment.failed', `Redis at ${redactUrl(this.#o.url)} is not reachable: ${(e as Error).message}`, {
        hint: 'start redis-server (apt-get install redis-server) or set cluster.redisUrl',
      });
    }
    const t = now();
    this.#nextDataCheck = t + this.#s.dataLossCheckIntervalMs;
    this.#nextSenderBeat = this.#nextProcessorBeat = t + this.#s.heartbeatInitialDelayMs;
    const tick = Math.max(this.#o.expiryTickMinMs ?? CLUSTER_DEFAULTS.queueExpiryTickMinMs, 50);
    this.#ticker = setInterval(() => this.#tick(), tick);
    this.#ticker.unref();
  }

  #markerKey(): string {
    return this.#k('marker', this.#o.node);
  }

  /** Is Redis answering (for /api/serverstatus/redis)? */
  async isReachable(): Promise<boolean> {
    try {
      return (await this.#link.cmd?.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  #sink(e: Parameters<EventSink>[0]): void {
    this.#o.sink?.(e);
  }

  #event(what: RedisQueueEvent['what'], extra: Pick<RedisQueueEvent, 'reason' | 'requestKey'> = {}): void {
    if (this.#closed) return;
    this.#sink({ type: 'redis-queue', at: now(), node: this.#o.node, what, ...extra });
  }

  /** A background Redis operation: its failure is an event (the link reports it), never an unhandled rejection. */
  #bg(p: Promise<unknown>): void {
    p.catch(() => undefined);
  }

  async enqueue(item: QueueItem, collectTimeoutMs: number): Promise<QueueOutcome> {
    if (this.#closed || !this.#link.cmd) return { outcome: 'failed', errorKind: 'internal', message: 'the queue is closed' };
    const id = `${item.owner}:${item.key}`;
    const t = now();
    const outcome = new Promise<QueueOutcome>((resolve) => {
      this.#own.set(id, {
        item, id, deadline: item.enqueuedAt + collectTimeoutMs, resolve, collected: false, local: false,
        lastProcessorBeat: t, nextPollAt: t + this.#s.responsePollFirstMs, pollStepMs: this.#s.responsePollFirstMs, busy: true,
      });
    });
    this.#sink({ type: 'request-queued', at: t, node: item.owner, requestKey: item.key, subscription: item.subscription, service: item.request.service });
    // The item outlives its collection deadline a little so a late collector can still read it.
    const ttlMs = Math.ceil(collectTimeoutMs + PROTOCOL_DEFAULTS.pollingRequestQueueTimeoutMs);
    const payload = this.#payload(item);
    try {
      await this.#link.run('enqueue', (c) => c.multi().set(this.#k('item', id), payload, { PX: ttlMs }).rPush(this.#k('q', item.subscription), id).publish(this.#k(WORK_CHANNEL), item.subscription).exec());
      const e = this.#own.get(id);
      if (e) e.busy = false;
    } catch (err) {
      this.#fail(id, 'redis-unavailable', `the request could not be queued: ${(err as Error).message}`);
    }
    return outcome;
  }

  #payload(item: QueueItem): string {
    return JSON.stringify({
      owner: item.owner, key: item.key, subscription: item.subscription, enqueuedAt: item.enqueuedAt,
      request: encodeMessage({ kind: 'request', request: item.request }).toString('base64'),
    });
  }

  take(subscription: string, _servingNode: string, waitMs: number, signal: AbortSignal): Promise<QueueItem | null> {
    if (signal.aborted || this.#closed) return Promise.resolve(null);
    return new Promise<QueueItem | null>((resolve, reject) => {
      // Registered before the first pop, so work published meanwhile is never missed.
      const waiter: Waiter = { subscription, resolve: () => undefined, fail: () => undefined, done: false, feeding: false, again: false, timedOut: false };
      let set = this.#waiters.get(subscription);
      if (!set) this.#waiters.set(subscription, (set = new Set()));
      const list = set;
      let dropTimer: NodeJS.Timeout | null = null;
      const end = () => {
        if (waiter.done) return false;
        waiter.done = true;
        clearTimeout(timer);
        if (dropTimer) clearTimeout(dropTimer);
        signal.removeEventListener('abort', onAbort);
        list.delete(waiter);
        if (!list.size && this.#waiters.get(subscription) === list) this.#waiters.delete(subscription);
        return true;
      };
      waiter.resolve = (item) => {
        if (end()) resolve(item);
      };
      // A dequeue failed for the whole retry window: drop the tentacle's connection after a
      // random 0..dequeueErrorDropMaxMs (Halibut RedisPendingRequestQueue), so connections of
      // every node do not all drop at once.
      waiter.fail = (e) => {
        if (waiter.done || dropTimer) return;
        list.delete(waiter);
        dropTimer = setTimeout(() => {
          if (!end()) return;
          this.#event('connection-dropped');
          reject(new PollfleetError('environment.failed', `the Redis queue could not dequeue work (${e.message}); dropping the connection`));
        }, Math.random() * this.#s.dequeueErrorDropMaxMs);
      };
      const onAbort = () => waiter.resolve(null);
      const timer = setTimeout(() => {
        waiter.timedOut = true;
        if (!waiter.feeding && !dropTimer) waiter.resolve(null);
      }, waitMs);
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
    this.#pop(waiter.subscription).then(
      (item) => {
        waiter.feeding = false;
        if (item) {
          if (waiter.done) this.requeue(item);
          else {
            this.#collected(item);
            waiter.resolve(item);
          }
        } else if (waiter.timedOut) waiter.resolve(null);
        else if (waiter.again) this.#feed(waiter);
      },
      (e: Error) => {
        waiter.feeding = false;
        if (this.#closed) waiter.resolve(null);
        else waiter.fail(e);
      },
    );
  }

  async #pop(subscription: string): Promise<QueueItem | null> {
    for (;;) {
      if (this.#closed) return null;
      // A pop that answers after its try timed out must not lose the id: put it back.
      const id = await this.#link.run('dequeue', (c) => c.lPop(this.#k('q', subscription)), (late) => {
        if (late) this.#bg(this.#link.run('requeue', (c) => c.lPush(this.#k('q', subscription), late)));
      });
      if (!id) return null;
      const raw = await this.#link.run('dequeue', (c) => c.getDel(this.#k('item', id)), (late) => {
        if (late) this.#bg(this.#restore(subscription, id, late));
      });
      if (!raw) continue; // expired, or a duplicate id of an item already taken
      const item = decodeItem(raw);
      if (item) return item;
    }
  }

  #restore(subscription: string, id: string, payload: string): Promise<unknown> {
    const ttlMs = PROTOCOL_DEFAULTS.pollingRequestQueueTimeoutMs * 2;
    return this.#link.run('requeue', (c) => c.multi().set(this.#k('item', id), payload, { PX: ttlMs }).lPush(this.#k('q', subscription), id).publish(this.#k(WORK_CHANNEL), subscription).exec());
  }

  /** This node took an item: hold it (processor side) and tell its owner. */
  #collected(item: QueueItem): void {
    const id = `${item.owner}:${item.key}`;
    const t = now();
    if (item.owner === this.#o.node) {
      const e = this.#own.get(id);
      if (e) {
        e.collected = true;
        e.local = true;
      }
      return;
    }
    this.#held.set(id, { owner: item.owner, collectedAt: t, lastSenderBeat: t, abandoned: false });
    this.#publishBeat({ r: 'c', node: this.#o.node, ids: [id] });
  }

  #publishBeat(b: Beat): void {
    this.#bg(this.#link.run('heartbeat', (c) => c.publish(this.#k(BEAT_CHANNEL), JSON.stringify(b))));
  }

  #onBeat(msg: string): void {
    let b: Beat;
    try {
      b = JSON.parse(msg) as Beat;
    } catch {
      return;
    }
    if (b.node === this.#o.node) return;
    const t = now();
    for (const id of b.ids ?? []) {
      if (b.r === 's') {
        const h = this.#held.get(id);
        if (h) h.lastSenderBeat = t;
        continue;
      }
      const e = this.#own.get(id);
      if (!e) continue;
      if (b.r === 'u') {
        e.collected = false;
        continue;
      }
      e.collected = true;
      e.lastProcessorBeat = t;
    }
  }

  requeue(item: QueueItem): void {
    if (this.#closed) return;
    const id = `${item.owner}:${item.key}`;
    if (item.owner === this.#o.node) {
      const e = this.#own.get(id);
      if (e) e.collected = false;
    } else if (this.#held.delete(id)) this.#publishBeat({ r: 'u', node: this.#o.node, ids: [id] });
    this.#bg(this.#restore(item.subscription, id, this.#payload(item)));
  }

  complete(item: QueueItem, outcome: QueueOutcome): void {
    const id = `${item.owner}:${item.key}`;
    if (item.owner === this.#o.node) {
      this.#settle(id, outcome);
      return;
    }
    const held = this.#held.get(id);
    this.#held.delete(id);
    if (held?.abandoned || this.#closed) return;
    const stored = JSON.stringify(outcome.outcome === 'answered' ? { ...outcome, response: encodeMessage({ kind: 'response', response: outcome.response }).toString('base64') } : outcome);
    const channel = this.#k('outcome', item.owner);
    const drop = this.#o.dropPublish?.(channel) ?? false;
    // If this fails for the whole retry window, the heartbeats have stopped: the sender gives up.
    this.#bg(
      this.#link.run('response', (c) => {
        const m = c.multi().set(this.#k('resp', id), stored, { PX: this.#s.responseTtlMs });
        return (drop ? m : m.publish(channel, id)).exec();
      }),
    );
  }

  /** The owner reads a stored response (announced, or found by polling). */
  #fetchResponse(id: string): void {
    const e = this.#own.get(id);
    if (!e || e.busy) return;
    e.busy = true;
    this.#link
      .run('response', (c) => c.getDel(this.#k('resp', id)))
      .then(
        (raw) => {
          e.busy = false;
          if (raw) this.#settle(id, decodeOutcome(raw));
        },
        () => {
          e.busy = false;
        },
      );
  }

  #settle(id: string, outcome: QueueOutcome): void {
    const e = this.#own.get(id);
    if (!e) return;
    this.#own.delete(id);
    e.resolve(outcome);
  }

  #fail(id: string, reason: NonNullable<RedisQueueEvent['reason']>, message: string): void {
    const e = this.#own.get(id);
    if (!e) return;
    this.#event('request-failed', { reason, requestKey: e.item.key });
    this.#settle(id, { outcome: 'failed', errorKind: `queue.${reason}`, message });
  }

  /** One pass of the owner's and the processor's timers; every Redis operation runs in the background. */
  #tick(): void {
    if (this.#closed) return;
    const t = now();
    const s = this.#s;
    for (const e of this.#own.values()) {
      if (e.collected && !e.local && t - e.lastProcessorBeat > s.senderGivesUpAfterMs) {
        this.#fail(e.id, 'heartbeat-lost', `the node processing the request did not send a heartbeat for ${s.senderGivesUpAfterMs} ms`);
        continue;
      }
      if (e.busy) continue;
      if (!e.collected && e.deadline <= t) this.#expire(e);
      else if (!e.local && t >= e.nextPollAt) {
        e.pollStepMs = Math.min(e.pollStepMs + s.responsePollStepMs, s.responsePollMaxMs);
        e.nextPollAt = t + e.pollStepMs;
        this.#fetchResponse(e.id);
      }
    }
    for (const [id, h] of this.#held) {
      if (!h.abandoned && t - h.lastSenderBeat > s.processorGivesUpAfterMs) {
        h.abandoned = true;
        this.#event('request-abandoned', { requestKey: Number(id.slice(id.lastIndexOf(':') + 1)) });
      }
    }
    if (t >= this.#nextSenderBeat) {
      this.#nextSenderBeat = t + s.heartbeatIntervalMs;
      // every request still in flight (the processor ignores ids it does not hold: a lost
      // collection announcement must not make it abandon the request)
      const ids = [...this.#own.values()].filter((e) => !e.local && t - e.item.enqueuedAt >= s.heartbeatInitialDelayMs).map((e) => e.id);
      if (ids.length) this.#publishBeat({ r: 's', node: this.#o.node, ids });
    }
    if (t >= this.#nextProcessorBeat) {
      this.#nextProcessorBeat = t + s.heartbeatIntervalMs;
      const ids = [...this.#held].filter(([, h]) => !h.abandoned && t - h.collectedAt >= s.heartbeatInitialDelayMs).map(([id]) => id);
      if (ids.length) this.#publishBeat({ r: 'p', node: this.#o.node, ids });
    }
    if (t >= this.#nextDataCheck && !this.#checkingData) {
      this.#nextDataCheck = t + s.dataLossCheckIntervalMs;
      this.#checkingData = true;
      this.#checkData().finally(() => {
        this.#checkingData = false;
      });
    }
  }

  /** The owner's expiry: an item still on its list at the deadline was never collected. */
  #expire(e: OwnEntry): void {
    e.busy = true;
    this.#link.run('expire', (c) => c.lRem(this.#k('q', e.item.subscription), 1, e.id)).then(
      (removed) => {
        e.busy = false;
        if (!this.#own.has(e.id) || e.collected) return;
        if (removed > 0) {
          this.#sink({ type: 'request-expired', at: now(), node: e.item.owner, requestKey: e.item.key, subscription: e.item.subscription, enqueuedAt: e.item.enqueuedAt });
          this.#settle(e.id, { outcome: 'expired' });
        } else {
          // Collected (the announcement was lost): from now on heartbeats and the response end it.
          e.collected = true;
          e.lastProcessorBeat = now();
        }
      },
      () => {
        e.busy = false;
        this.#fail(e.id, 'redis-unavailable', 'Redis did not answer when the request was due to expire');
      },
    );
  }

  /**
   * Redis lost all its data (restarted without persistence, flushed, failed over to an empty
   * replica) when our marker key is gone: fail every request this node sent, and watch again.
   */
  async #checkData(): Promise<void> {
    let value: string | null;
    try {
      value = await this.#link.run('data-loss check', (c) => c.get(this.#markerKey()));
    } catch {
      return; // unreachable: the link reported it; check again next time
    }
    if (this.#closed) return;
    if (value === this.#marker) {
      this.#bg(this.#link.run('data-loss check', (c) => c.pExpire(this.#markerKey(), this.#s.dataLossMarkerTtlMs)));
      return;
    }
    this.#event('data-lost');
    for (const id of [...this.#own.keys()]) this.#fail(id, 'data-lost', 'Redis lost all its data: the request was cancelled');
    this.#marker = randomUUID();
    // awaited: the next check must not run before the new marker is there
    await this.#link.run('data-loss check', (c) => c.set(this.#markerKey(), this.#marker, { PX: this.#s.dataLossMarkerTtlMs })).catch(() => undefined);
  }

  size(): number {
    let n = 0;
    for (const e of this.#own.values()) if (!e.collected) n++;
    return n;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ticker) clearInterval(this.#ticker);
    for (const set of this.#waiters.values()) for (const w of set) w.resolve(null);
    this.#waiters.clear();
    for (const e of this.#own.values()) e.resolve({ outcome: 'failed', errorKind: 'internal', message: 'the queue was closed' });
    this.#own.clear();
    this.#held.clear();
    await this.#link.close();
  }
}

function decodeItem(raw: string): QueueItem | null {
  try {
    const p = JSON.parse(raw) as { owner: string; key: number; subscription: string; enqueuedAt: number; request: string };
    const inflated = tryInflate(Buffer.from(p.request, 'base64'), PROTOCOL_DEFAULTS.maxMessageBytes);
    if (!inflated.done) return null;
    const m = bsonToMessage(inflated.bson);
    if (m.kind !== 'request') return null;
    return { key: p.key, owner: p.owner, subscription: p.subscription, enqueuedAt: p.enqueuedAt, request: m.request };
  } catch {
    return null;
  }
}

function decodeOutcome(raw: string): QueueOutcome {
  try {
    const p = JSON.parse(raw) as QueueOutcome & { response?: unknown };
    if (p.outcome !== 'answered') return p;
    const inflated = tryInflate(Buffer.from(p.response as unknown as string, 'base64'), PROTOCOL_DEFAULTS.maxMessageBytes);
    const m = inflated.done ? bsonToMessage(inflated.bson) : null;
    return { outcome: 'answered', servedBy: p.servedBy, response: (m?.kind === 'response' ? m.response : null) as ResponseMessage };
  } catch (e) {
    return { outcome: 'failed', errorKind: 'protocol.bad-message', message: `the stored response could not be read: ${(e as Error).message}` };
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
