import { now } from '../core/clock.js';
import type { EventSink } from '../core/events.js';
import type { QueueItem, QueueOutcome, WorkQueue } from './work-queue.js';

/**
 * An in-memory WorkQueue: a FIFO of items and a FIFO of waiters per subscription.
 *
 * Used as a node's own queue (classic HA: one per node) or as the one queue every node
 * shares (multi-node polling: held by the cluster supervisor, nodes reach it over IPC).
 *
 * Who emits which event, so that every event is emitted exactly once in both cases:
 * - this queue emits `request-queued` and `request-expired` (facts about the queue; `node`
 *   is the item's owner) through the sink it was constructed with. Whoever constructs the
 *   queue passes the sink: the node for its own queue, the supervisor for a shared one
 *   (an IPC proxy of a shared queue passes none).
 * - the serving node's PollingListener emits `request-dispatched` and `request-answered`
 *   when the request is actually written / answered on its connection. A take() alone is
 *   not a dispatch: an item taken by a connection that closes before the write is
 *   requeued and collected again later, and pickup latency ends at the write.
 *
 * Expiry (PollingRequestQueueTimeout) applies while an item waits to be collected; a
 * requeued item keeps its original deadline. It is exact: one timer, armed for the earliest
 * deadline of a min-heap of waiting entries, expires an item at its deadline (within
 * scheduling jitter), and take() never hands out an item whose deadline has passed (it
 * expires it there instead), so a late timer cannot deliver expired work.
 */
export interface LocalQueueOptions {
  sink?: EventSink;
  /**
   * Every waiter of a subscription races for each request, one (at random) wins -- as a real
   * node, whose waiters all wake on one event (Halibut
   * source/Halibut/ServiceModel/PendingRequestQueueAsync.cs, `itemAddedToQueue`, an
   * AsyncManualResetEvent). false (a lenient node): the longest-waiting waiter gets it.
   */
  race?: boolean;
  /** Injectable for tests; defaults to Math.random. */
  random?: () => number;
}

interface Entry {
  item: QueueItem;
  deadline: number;
  collectTimeoutMs: number;
  resolve: (o: QueueOutcome) => void;
  state: 'waiting' | 'taken' | 'done';
}

/**
 * A connection long-polling for work. Nothing is made per waiter but this object and its
 * promise: the wait's end is watched by the queue's one wait timer, and an abort by one
 * listener per distinct signal (a node's connections share their stop signal).
 */
interface Waiter {
  /** Dropped once called: a resolved waiter left in the wait heap keeps neither its promise nor the item. */
  resolve: (item: QueueItem | null) => void;
  signal: AbortSignal;
  subscription: string;
  /** When the wait ends with null. */
  deadline: number;
  /** Resolved (an item, the end of the wait, an abort, the queue's close): no longer waits. */
  done: boolean;
}

function answered(): void {
  // resolved already
}

/** Resolve a waiter once, and let go of its promise (and so of the item it was handed). */
function answer(w: Waiter, item: QueueItem | null): void {
  const resolve = w.resolve;
  w.resolve = answered;
  resolve(item);
}

/** A double-ended queue on an array with a moving head: O(1) push, shift and unshift (amortised). */
class Deque<T> {
  #items: (T | undefined)[];
  #head = 0;

  /**
   * Made with its first value: an array made with one value holds one slot, where the first
   * push onto an empty array reserves seventeen (a connection waiting alone for its
   * subscription's work is the common case).
   */
  constructor(first: T) {
    this.#items = [first];
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(v: T): void {
    this.#items.push(v);
  }

  unshift(v: T): void {
    if (this.#head > 0) this.#items[--this.#head] = v;
    else this.#items.unshift(v);
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const v = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return v;
  }

  /** Keep only the values for which `keep` is true (order preserved). */
  retain(keep: (v: T) => boolean): void {
    const next: T[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const v = this.#items[i] as T;
      if (keep(v)) next.push(v);
    }
    this.#items = next;
    this.#head = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i] as T;
  }
}

/**
 * A binary min-heap by deadline (of entries, or of waiters). Nothing is removed when taken or
 * resolved: whoever pops one checks that it still waits (lazy deletion), so every operation
 * stays O(log n) and the heap holds at most what was added within one timeout.
 */
class DeadlineHeap<T extends { deadline: number }> {
  readonly #a: T[] = [];

  get length(): number {
    return this.#a.length;
  }

  peek(): T | undefined {
    return this.#a[0];
  }

  push(e: T): void {
    const a = this.#a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.deadline <= a[i]!.deadline) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.deadline < a[m]!.deadline) m = l;
        if (r < a.length && a[r]!.deadline < a[m]!.deadline) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.#a.length = 0;
  }
}

/** setTimeout's longest delay (2^31 - 1 ms); a later deadline re-arms when this fires. */
const MAX_TIMER_MS = 2_147_483_647;

function entryKey(item: QueueItem): string {
  return `${item.owner}\u0000${item.key}`;
}

export class LocalQueue implements WorkQueue {
  readonly #sink: EventSink | undefined;
  /** Items waiting to be collected, per subscription. */
  readonly #items = new Map<string, Deque<Entry>>();
  /** Connections long-polling for work, per subscription. */
  readonly #waiters = new Map<string, Deque<Waiter>>();
  /** Every entry not yet resolved (waiting or taken), by owner + key. */
  readonly #entries = new Map<string, Entry>();
  #waitingCount = 0;
  /** Deadlines of waiting entries (and, lazily, of some that no longer wait). */
  readonly #deadlines = new DeadlineHeap<Entry>();
  /** Ends of the waiters' waits (and, lazily, of waiters resolved since). */
  readonly #waitEnds = new DeadlineHeap<Waiter>();
  /** The one wait timer, armed for `#waitTimerAt` (the earliest end of a wait), or null. */
  #waitTimer: NodeJS.Timeout | null = null;
  #waitTimerAt = Infinity;
  /** Waiters not yet resolved (while there are none, the wait timer is not armed). */
  #liveWaiters = 0;
  /** Waiters per abort signal, each signal watched by one listener while it has waiters. */
  readonly #bySignal = new Map<AbortSignal, { waiters: Set<Waiter>; onAbort: () => void }>();
  /** The one expiry timer, armed for `#timerAt` (the earliest deadline), or null. */
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  #closed = false;
  readonly #race: boolean;
  readonly #random: () => number;

  constructor(o: LocalQueueOptions = {}) {
    this.#sink = o.sink;
    this.#race = o.race ?? false;
    this.#random = o.random ?? Math.random;
  }

  enqueue(item: QueueItem, collectTimeoutMs: number): Promise<QueueOutcome> {
    if (this.#closed) return Promise.resolve({ outcome: 'failed', errorKind: 'internal', message: 'the queue is closed' });
    const key = entryKey(item);
    if (this.#entries.has(key)) {
      return Promise.resolve({ outcome: 'failed', errorKind: 'internal', message: `request ${item.key} of ${item.owner} is already queued` });
    }
    return new Promise<QueueOutcome>((resolve) => {
      const entry: Entry = { item, deadline: item.enqueuedAt + collectTimeoutMs, collectTimeoutMs, resolve, state: 'waiting' };
      this.#entries.set(key, entry);
      this.#sink?.({
        type: 'request-queued', at: now(), node: item.owner, requestKey: item.key,
        subscription: item.subscription, service: item.request.service,
      });
      this.#offer(entry, false);
      if (entry.state === 'waiting') this.#watchDeadline(entry);
    });
  }

  take(subscription: string, _servingNode: string, waitMs: number, signal: AbortSignal): Promise<QueueItem | null> {
    if (signal.aborted || this.#closed) return Promise.resolve(null);
    const entry = this.#shiftLive(subscription);
    if (entry) return Promise.resolve(this.#handOut(entry));
    return new Promise<QueueItem | null>((resolve) => {
      const waiter: Waiter = { resolve, signal, subscription, deadline: now() + waitMs, done: false };
      const waiters = this.#waiters.get(subscription);
      if (waiters) waiters.push(waiter);
      else this.#waiters.set(subscription, new Deque(waiter));
      this.#liveWaiters++;
      this.#watchSignal(waiter);
      this.#waitEnds.push(waiter);
      if (waiter.deadline < this.#waitTimerAt) this.#armWaitTimer(waiter.deadline);
    });
  }

  requeue(item: QueueItem): void {
    const entry = this.#entries.get(entryKey(item));
    if (!entry || entry.state !== 'taken') return;
    if (this.#closed) return;
    if (entry.deadline <= now()) {
      this.#expire(entry);
      return;
    }
    entry.state = 'waiting';
    this.#offer(entry, true);
    if (entry.state === 'waiting') this.#watchDeadline(entry);
  }

  complete(item: QueueItem, outcome: QueueOutcome): void {
    const key = entryKey(item);
    const entry = this.#entries.get(key);
    if (!entry || entry.state === 'done') return;
    if (entry.state === 'waiting') this.#waitingCount--;
    entry.state = 'done';
    this.#entries.delete(key);
    entry.resolve(outcome);
  }

  size(): number {
    return this.#waitingCount;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimer();
    this.#deadlines.clear();
    for (const waiters of this.#waiters.values()) {
      for (const w of waiters) {
        this.#settle(w);
        answer(w, null);
      }
    }
    this.#waiters.clear();
    for (const entry of this.#entries.values()) {
      entry.state = 'done';
      entry.resolve({ outcome: 'failed', errorKind: 'internal', message: 'the queue was closed before the request was answered' });
    }
    this.#entries.clear();
    this.#items.clear();
    this.#waitingCount = 0;
  }

  /** Hand an entry to the first live waiter of its subscription, or queue it (at the front when requeued). */
  #offer(entry: Entry, front: boolean): void {
    const sub = entry.item.subscription;
    const waiters = this.#waiters.get(sub);
    while (waiters && waiters.length > 0) {
      const w = this.#pickWaiter(waiters);
      this.#settle(w);
      if (w.signal.aborted) {
        answer(w, null);
        continue;
      }
      if (waiters.length === 0) this.#waiters.delete(sub);
      answer(w, this.#handOutFresh(entry));
      return;
    }
    if (waiters) this.#waiters.delete(sub);
    const items = this.#items.get(sub);
    if (!items) this.#items.set(sub, new Deque(entry));
    else if (front) items.unshift(entry);
    else items.push(entry);
    this.#waitingCount++;
  }

  /** The waiter that gets the next item: the first (FIFO) or, racing, any one of them. */
  #pickWaiter(waiters: Deque<Waiter>): Waiter {
    if (!this.#race || waiters.length === 1) return waiters.shift()!;
    const all = [...waiters];
    const w = all[Math.min(all.length - 1, Math.floor(this.#random() * all.length))]!;
    waiters.retain((x) => x !== w);
    return w;
  }

  /** Watch a waiter's signal: one listener per distinct signal, however many wait on it. */
  #watchSignal(w: Waiter): void {
    const watched = this.#bySignal.get(w.signal);
    if (watched) {
      watched.waiters.add(w);
      return;
    }
    const signal = w.signal;
    const onAbort = (): void => {
      const ws = this.#bySignal.get(signal);
      if (!ws) return;
      this.#bySignal.delete(signal);
      for (const x of ws.waiters) this.#endWait(x);
    };
    this.#bySignal.set(signal, { waiters: new Set([w]), onAbort });
    signal.addEventListener('abort', onAbort, { once: true });
  }

  /** A waiter leaves: no longer watched (its heap slot is dropped lazily). Idempotent. */
  #settle(w: Waiter): void {
    if (w.done) return;
    w.done = true;
    if (--this.#liveWaiters === 0) this.#stopWaitTimer(); // nothing keeps the process up for ended waits
    const watched = this.#bySignal.get(w.signal);
    if (!watched) return;
    watched.waiters.delete(w);
    if (watched.waiters.size === 0) {
      this.#bySignal.delete(w.signal);
      w.signal.removeEventListener('abort', watched.onAbort);
    }
  }

  /**
   * The wait ended without an item (its time is up, or its signal aborted): resolve null and
   * remove the waiter at once, so an ended waiter can never be handed an item.
   */
  #endWait(w: Waiter): void {
    if (w.done) return;
    this.#settle(w);
    const list = this.#waiters.get(w.subscription);
    if (list) {
      list.retain((x) => x !== w);
      if (list.length === 0) this.#waiters.delete(w.subscription);
    }
    answer(w, null);
  }

  #stopWaitTimer(): void {
    if (this.#waitTimer) clearTimeout(this.#waitTimer);
    this.#waitTimer = null;
    this.#waitTimerAt = Infinity;
    this.#waitEnds.clear(); // every waiter in it is resolved
  }

  #armWaitTimer(at: number): void {
    if (this.#waitTimer) clearTimeout(this.#waitTimer);
    this.#waitTimerAt = at;
    this.#waitTimer = setTimeout(() => this.#onWaitTimer(), Math.min(MAX_TIMER_MS, Math.max(0, at - now())));
  }

  /** End every wait whose time is up, then arm the wait timer for the next one. */
  #onWaitTimer(): void {
    this.#waitTimer = null;
    this.#waitTimerAt = Infinity;
    const t = now();
    let top: Waiter | undefined;
    while ((top = this.#waitEnds.peek())) {
      if (top.done) {
        this.#waitEnds.pop(); // resolved since: nothing to end
        continue;
      }
      if (top.deadline > t) break; // a timer may fire a fraction of a millisecond early by this clock: armed again
      this.#waitEnds.pop();
      this.#endWait(top);
    }
    if (top) this.#armWaitTimer(top.deadline);
  }

  /** The first entry that still waits and whose deadline has not passed; entries past it are expired here. */
  #shiftLive(subscription: string): Entry | undefined {
    const items = this.#items.get(subscription);
    if (!items) return undefined;
    const t = now();
    let entry: Entry | undefined;
    while ((entry = items.shift())) {
      if (entry.state !== 'waiting') continue; // resolved meanwhile
      if (entry.deadline <= t) {
        this.#expire(entry); // the timer has not fired yet: never hand out work past its deadline
        continue;
      }
      break;
    }
    if (items.length === 0) this.#items.delete(subscription);
    return entry;
  }

  /** An entry leaving the waiting list. */
  #handOut(entry: Entry): QueueItem {
    this.#waitingCount--;
    entry.state = 'taken';
    return entry.item;
  }

  /** An entry handed straight to a waiter (it was never counted as waiting). */
  #handOutFresh(entry: Entry): QueueItem {
    entry.state = 'taken';
    return entry.item;
  }

  #expire(entry: Entry): void {
    if (entry.state === 'waiting') this.#waitingCount--;
    entry.state = 'done';
    this.#entries.delete(entryKey(entry.item));
    this.#sink?.({
      type: 'request-expired', at: now(), node: entry.item.owner, requestKey: entry.item.key,
      subscription: entry.item.subscription, enqueuedAt: entry.item.enqueuedAt,
    });
    entry.resolve({ outcome: 'expired' });
  }

  /** Note a waiting entry's deadline; the timer moves earlier when this is the new earliest. */
  #watchDeadline(entry: Entry): void {
    this.#deadlines.push(entry);
    if (entry.deadline < this.#timerAt) this.#armTimer(entry.deadline);
  }

  #armTimer(at: number): void {
    this.#stopTimer();
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#onTimer(), Math.min(MAX_TIMER_MS, Math.max(0, at - now())));
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  /** Expire every waiting entry whose deadline has come, then arm the timer for the next one. */
  #onTimer(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const t = now();
    const touched = new Set<string>();
    let top: Entry | undefined;
    while ((top = this.#deadlines.peek())) {
      if (top.state !== 'waiting') {
        this.#deadlines.pop(); // taken or resolved since: nothing to expire
        continue;
      }
      if (top.deadline > t) break;
      this.#deadlines.pop();
      this.#expire(top);
      touched.add(top.item.subscription);
    }
    // Drop expired entries from the front of their lists (the rest are skipped by take()).
    for (const sub of touched) {
      const items = this.#items.get(sub);
      if (!items) continue;
      while (items.length > 0) {
        const first = items.shift()!;
        if (first.state === 'waiting') {
          items.unshift(first);
          break;
        }
      }
      if (items.length === 0) this.#items.delete(sub);
    }
    if (top) this.#armTimer(top.deadline);
  }
}
