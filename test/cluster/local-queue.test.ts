import { getEventListeners } from 'node:events';
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LocalQueue } from '../../src/cluster/local-queue.js';
import type { QueueItem } from '../../src/cluster/work-queue.js';
import { now } from '../../src/core/clock.js';
import type { PollfleetEvent } from '../../src/core/events.js';
import { Guid, okResponse, serviceEndPoint, type RequestMessage } from '../../src/halibut/index.js';
import { PROTOCOL_DEFAULTS } from '../../src/scenario/defaults.js';
import { withTimeout } from '../helpers/wait.js';

const SUB_A = 'poll://aaaaaaaaaaaaaaaaaaaa/';
const SUB_B = 'poll://bbbbbbbbbbbbbbbbbbbb/';
const LONG = 60_000;

function item(key: number, subscription = SUB_A, owner = 'node1'): QueueItem {
  const request: RequestMessage = {
    id: `ICapabilitiesServiceV2::GetCapabilitiesAsync[${key}] / x`,
    activityId: Guid.random(),
    endpoint: serviceEndPoint(subscription, null, {
      pollingRequestQueueTimeoutMs: PROTOCOL_DEFAULTS.pollingRequestQueueTimeoutMs,
      retryListeningSleepIntervalMs: 1000, retryCountLimit: 5, connectionErrorRetryTimeoutMs: 300_000, tcpClientConnectTimeoutMs: 60_000,
    }),
    service: 'ICapabilitiesServiceV2',
    method: 'GetCapabilities',
    params: [],
  };
  return { key, owner, subscription, request, enqueuedAt: now() };
}

const never = () => new AbortController().signal;

t.test('items are handed out first in, first out, per subscription', async (t) => {
  const q = new LocalQueue();
  t.teardown(() => q.close());
  void q.enqueue(item(1), LONG);
  void q.enqueue(item(2, SUB_B), LONG);
  void q.enqueue(item(3), LONG);
  t.equal(q.size(), 3);
  t.equal((await q.take(SUB_A, 'node1', 10, never()))?.key, 1);
  t.equal((await q.take(SUB_A, 'node1', 10, never()))?.key, 3);
  t.equal((await q.take(SUB_B, 'node1', 10, never()))?.key, 2);
  t.equal(q.size(), 0);
  t.equal(await q.take(SUB_A, 'node1', 30, never()), null, 'nothing left: null after the wait');
});

t.test('waiters are served first in, first out, and a wait ends with null after waitMs', async (t) => {
  const q = new LocalQueue();
  t.teardown(() => q.close());
  const w1 = q.take(SUB_A, 'node1', LONG, never());
  const w2 = q.take(SUB_A, 'node2', LONG, never());
  void q.enqueue(item(1), LONG);
  void q.enqueue(item(2), LONG);
  t.equal((await w1)?.key, 1);
  t.equal((await w2)?.key, 2);
  const started = performance.now();
  t.equal(await q.take(SUB_A, 'node1', 100, never()), null);
  const waited = performance.now() - started;
  t.ok(waited >= 90 && waited < 1000, `waited ${waited.toFixed(0)} ms for a 100 ms long-poll`);
});

t.test('an aborted waiter never receives an item', async (t) => {
  const q = new LocalQueue();
  t.teardown(() => q.close());
  const ac = new AbortController();
  const aborted = q.take(SUB_A, 'node1', LONG, ac.signal);
  const live = q.take(SUB_A, 'node1', LONG, never());
  ac.abort();
  void q.enqueue(item(1), LONG);
  t.equal(await aborted, null, 'the aborted waiter got null');
  t.equal((await live)?.key, 1, 'the item went to the live waiter');
  const pre = new AbortController();
  pre.abort();
  void q.enqueue(item(2), LONG);
  t.equal(await q.take(SUB_A, 'node1', LONG, pre.signal), null, 'an already aborted take gets nothing');
  t.equal(q.size(), 1, 'and the item stays queued');
});

t.test('waiters sharing a signal are watched by one listener, and every wait ends at its own time', async (t) => {
  const q = new LocalQueue();
  t.teardown(() => q.close());
  const stop = new AbortController();
  const subs = Array.from({ length: 50 }, (_, i) => `poll://${String(i).padStart(20, 'w')}/`);
  const held = subs.map((s) => q.take(s, 'node1', LONG, stop.signal));
  t.equal(getEventListeners(stop.signal, 'abort').length, 1, 'one abort listener for 50 waiters on one signal');
  // Waits of different lengths, the longer one first: each ends at its own time.
  const started = now();
  const ends: string[] = [];
  const long = q.take(SUB_A, 'node1', 300, never()).then((v) => { ends.push('long'); return v; });
  const short = q.take(SUB_B, 'node1', 60, never()).then((v) => { ends.push('short'); return v; });
  t.equal(await short, null);
  t.ok(now() - started >= 60, 'the short wait lasted its time');
  t.equal(await long, null);
  t.ok(now() - started >= 300, 'the long wait lasted its time');
  t.same(ends, ['short', 'long']);
  stop.abort();
  t.same(await Promise.all(held), subs.map(() => null), 'the abort ends every wait on the signal');
  t.equal(getEventListeners(stop.signal, 'abort').length, 0, 'and the listener is gone');
});

t.test('a waiter handed an item does not keep it while its wait would have lasted', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const q = new LocalQueue();
  t.teardown(() => q.close());
  const keepWaiting = q.take(SUB_B, 'node1', LONG, never()); // keeps the wait timer armed
  const ref = await (async () => {
    const it = item(1);
    const got = q.take(SUB_A, 'node1', LONG, never());
    void q.enqueue(it, LONG);
    const taken = (await got)!;
    q.complete(taken, { outcome: 'failed', errorKind: 'internal', message: 'test' });
    return new WeakRef(taken);
  })();
  for (let i = 0; i < 5 && ref.deref(); i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  t.equal(ref.deref(), undefined, 'the item was collected');
  void keepWaiting;
});

t.test('complete() resolves the enqueue promise; requeue() puts an item back at the front', async (t) => {
  const q = new LocalQueue();
  t.teardown(() => q.close());
  const p1 = q.enqueue(item(1), LONG);
  void q.enqueue(item(2), LONG);
  const got = (await q.take(SUB_A, 'node1', 10, never()))!;
  q.requeue(got);
  t.equal(q.size(), 2);
  const again = (await q.take(SUB_A, 'node2', 10, never()))!;
  t.equal(again.key, 1, 'the requeued item is first again');
  const response = okResponse(again.request.id, 42);
  q.complete(again, { outcome: 'answered', response, servedBy: 'node2' });
  const outcome = await p1;
  t.equal(outcome.outcome, 'answered');
  t.equal(outcome.outcome === 'answered' && outcome.servedBy, 'node2');
  q.complete(again, { outcome: 'failed', errorKind: 'internal', message: 'late' });
  t.equal((await p1).outcome, 'answered', 'a second completion is ignored');
});

t.test('an item nobody collects expires after the collection timeout, with an event; taken items do not', async (t) => {
  const events: PollfleetEvent[] = [];
  const q = new LocalQueue({ sink: (e) => events.push(e) });
  t.teardown(() => q.close());
  const timeoutMs = 300;
  const started = performance.now();
  const expired = q.enqueue(item(1), timeoutMs);
  const taken = q.enqueue(item(2, SUB_B), timeoutMs);
  const got = await q.take(SUB_B, 'node1', 10, never());
  t.equal(got?.key, 2);
  const outcome = await withTimeout(expired, 3_000, 'expiry');
  const elapsed = performance.now() - started;
  t.same(outcome, { outcome: 'expired' });
  const slack = Math.max(50, timeoutMs / 20) + 250; // tick resolution + a loaded event loop
  t.ok(elapsed >= timeoutMs - 5 && elapsed <= timeoutMs + slack, `expired after ${elapsed.toFixed(0)} ms (timeout ${timeoutMs} ms)`);
  t.equal(q.size(), 0);
  t.same(events.map((e) => e.type), ['request-queued', 'request-queued', 'request-expired']);
  const ev = events[2] as Extract<PollfleetEvent, { type: 'request-expired' }>;
  t.equal(ev.requestKey, 1);
  t.equal(ev.node, 'node1');
  t.equal(ev.subscription, SUB_A);
  await new Promise((r) => setTimeout(r, timeoutMs));
  q.complete(got!, { outcome: 'answered', response: okResponse(got!.request.id, null), servedBy: 'node1' });
  t.equal((await taken).outcome, 'answered', 'a collected item waits for its response, not for the collection timeout');
});

t.test('close() fails pending requests and releases waiters', async (t) => {
  const q = new LocalQueue();
  const pending = q.enqueue(item(1), LONG);
  const waiter = q.take(SUB_B, 'node1', LONG, never());
  await q.close();
  t.equal((await pending).outcome, 'failed');
  t.equal(await waiter, null);
  t.equal((await q.enqueue(item(2), LONG)).outcome, 'failed', 'enqueue after close fails at once');
});

t.test('the same key of one owner cannot be queued twice', async (t) => {
  const q = new LocalQueue();
  t.teardown(() => q.close());
  void q.enqueue(item(1), LONG);
  t.equal((await q.enqueue(item(1), LONG)).outcome, 'failed');
  void q.enqueue(item(1, SUB_A, 'node2'), LONG);
  t.equal(q.size(), 2, 'another owner may use the same key');
});

t.test('exact expiry: each item expires at its own deadline, an earlier one queued later first', async (t) => {
  const events: PollfleetEvent[] = [];
  const q = new LocalQueue({ sink: (e) => events.push(e) });
  t.teardown(() => q.close());
  const started = performance.now();
  const at = new Map<number, number>();
  const late = q.enqueue(item(1), 1_500).then((o) => (at.set(1, performance.now() - started), o));
  const early = q.enqueue(item(2, SUB_B), 400).then((o) => (at.set(2, performance.now() - started), o));
  t.same(await withTimeout(early, 3_000, 'the early expiry'), { outcome: 'expired' });
  t.same(await withTimeout(late, 4_000, 'the late expiry'), { outcome: 'expired' });
  const margin = 300; // scheduling jitter on a busy machine; a coarse ticker would not meet the order below either
  t.ok(at.get(2)! >= 395 && at.get(2)! <= 400 + margin, `the 400 ms item expired after ${at.get(2)!.toFixed(0)} ms`);
  t.ok(at.get(1)! >= 1_495 && at.get(1)! <= 1_500 + margin, `the 1500 ms item expired after ${at.get(1)!.toFixed(0)} ms`);
  const expired = events.filter((e) => e.type === 'request-expired') as Extract<PollfleetEvent, { type: 'request-expired' }>[];
  t.same(expired.map((e) => e.requestKey), [2, 1], 'in deadline order');
  t.equal(q.size(), 0);
});

t.test('take() never hands out an item past its deadline, even before the expiry timer runs', async (t) => {
  const events: PollfleetEvent[] = [];
  const q = new LocalQueue({ sink: (e) => events.push(e) });
  t.teardown(() => q.close());
  const expired = q.enqueue(item(1), 100);
  const fresh = q.enqueue(item(2), LONG);
  // Hold the event loop past the deadline, so the timer cannot have fired when take() runs.
  const until = performance.now() + 150;
  while (performance.now() < until) { /* busy wait, bounded: 150 ms */ }
  const got = await q.take(SUB_A, 'node1', 10, never());
  t.equal(got?.key, 2, 'the expired item was skipped; the next one was handed out');
  t.same(await withTimeout(expired, 1_000, 'expiry'), { outcome: 'expired' });
  t.equal(events.filter((e) => e.type === 'request-expired').length, 1, 'one expiry event');
  t.equal(await q.take(SUB_A, 'node1', 10, never()), null, 'nothing else to take');
  q.complete(got!, { outcome: 'answered', response: okResponse(got!.request.id, null), servedBy: 'node1' });
  t.equal((await fresh).outcome, 'answered');
});

t.test('a requeued item past its deadline expires instead of being handed out again', async (t) => {
  const q = new LocalQueue();
  t.teardown(() => q.close());
  const p = q.enqueue(item(1), 200);
  const got = await q.take(SUB_A, 'node1', 10, never());
  t.equal(got?.key, 1);
  await new Promise((r) => setTimeout(r, 300));
  q.requeue(got!);
  t.same(await withTimeout(p, 1_000, 'expiry'), { outcome: 'expired' });
  t.equal(await q.take(SUB_A, 'node1', 10, never()), null);
});
