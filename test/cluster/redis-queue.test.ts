import t from 'tap';
import { RedisQueue } from '../../src/cluster/redis-queue.js';
import type { QueueItem } from '../../src/cluster/work-queue.js';
import type { PollfleetEvent } from '../../src/core/events.js';
import { Guid } from '../../src/halibut/guid.js';
import { okResponse, requestId, serviceEndPoint } from '../../src/halibut/messages.js';
import { PROTOCOL_DEFAULTS } from '../../src/scenario/defaults.js';
import { now } from '../../src/core/clock.js';
import { startRedis } from '../helpers/redis-server.js';
import { testNeeding } from '../helpers/system-binary.js';

const SUB = 'poll://abcdefghjkmnpqrstuvw/';

function item(owner: string, key: number): QueueItem {
  const activity = Guid.random();
  return {
    key,
    owner,
    subscription: SUB,
    enqueuedAt: now(),
    request: {
      id: requestId('ICapabilitiesServiceV2', 'GetCapabilities', key, activity),
      activityId: activity,
      endpoint: serviceEndPoint(SUB, null, { ...PROTOCOL_DEFAULTS, tcpClientConnectTimeoutMs: PROTOCOL_DEFAULTS.connectTimeoutMs }),
      service: 'ICapabilitiesServiceV2',
      method: 'GetCapabilities',
      params: [],
    },
  };
}

testNeeding(t, 'redis-server', 'apt-get install redis-server', 'a request queued on one node is collected and answered through another', async (t, path) => {
  const url = await startRedis(t, path);
  const events: PollfleetEvent[] = [];
  const a = new RedisQueue({ url, namespace: 't1', node: 'node1', sink: (e) => events.push(e) });
  const b = new RedisQueue({ url, namespace: 't1', node: 'node2' });
  await a.connect();
  await b.connect();
  t.teardown(async () => {
    await a.close();
    await b.close();
  });

  // A waiter on node2 is woken by work queued on node1.
  const ac = new AbortController();
  const taking = b.take(SUB, 'node2', 3000, ac.signal);
  const it = item('node1', 1);
  const outcome = a.enqueue(it, 3000);
  const taken = await taking;
  t.ok(taken, 'node2 collected node1\'s request');
  t.equal(taken!.owner, 'node1');
  t.equal(taken!.request.id, it.request.id, 'the request arrives byte-exact (same id)');
  t.ok(taken!.request.activityId.equals(it.request.activityId), 'GUIDs survive the trip');
  b.complete(taken!, { outcome: 'answered', servedBy: 'node2', response: okResponse(taken!.request.id, { ok: 1 }) });
  const o = await outcome;
  t.equal(o.outcome, 'answered', 'the owner learns the answer');
  if (o.outcome === 'answered') t.equal(o.response.id, it.request.id, 'response id echoed');
  t.ok(events.some((e) => e.type === 'request-queued'), 'queued event from the owner');
});

testNeeding(t, 'redis-server', 'apt-get install redis-server', 'a request nobody collects expires at its owner, exactly once', async (t, path) => {
  const url = await startRedis(t, path);
  const events: PollfleetEvent[] = [];
  const a = new RedisQueue({ url, namespace: 't2', node: 'node1', sink: (e) => events.push(e) });
  await a.connect();
  t.teardown(() => a.close());
  const started = now();
  const o = await a.enqueue(item('node1', 7), 400);
  t.equal(o.outcome, 'expired');
  t.ok(now() - started >= 390, 'not before the collection timeout');
  t.equal(events.filter((e) => e.type === 'request-expired').length, 1);
  // Expired work is gone: a later take finds nothing.
  const none = await a.take(SUB, 'node1', 200, new AbortController().signal);
  t.equal(none, null);
});

testNeeding(t, 'redis-server', 'apt-get install redis-server', 'a requeued item goes back to the front; an aborted waiter gets nothing', async (t, path) => {
  const url = await startRedis(t, path);
  const a = new RedisQueue({ url, namespace: 't3', node: 'node1' });
  await a.connect();
  t.teardown(() => a.close());
  void a.enqueue(item('node1', 1), 5000);
  void a.enqueue(item('node1', 2), 5000);
  const first = await a.take(SUB, 'node1', 1000, new AbortController().signal);
  t.equal(first?.key, 1);
  a.requeue(first!);
  await new Promise((r) => setTimeout(r, 50));
  const again = await a.take(SUB, 'node1', 1000, new AbortController().signal);
  t.equal(again?.key, 1, 'requeued item is handed out first');
  const ac = new AbortController();
  const waiting = a.take('poll://nobodyhere2345678ab/', 'node1', 2000, ac.signal);
  ac.abort();
  t.equal(await waiting, null);
});

t.test('an unreachable Redis is an environment error naming the URL without its password', async (t) => {
  const q = new RedisQueue({ url: 'redis://:secretpw@127.0.0.1:1', namespace: 'x', node: 'node1' });
  const err = await q.connect().then(() => null, (e: Error & { kind?: string }) => e);
  t.ok(err);
  t.equal(err!.kind, 'environment.failed');
  t.notMatch(err!.message, /secretpw/);
});
