import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { RedisServer } from '../../src/cluster/redis/redis-server.js';
import { RedisQueue } from '../../src/cluster/redis-queue.js';
import type { QueueItem } from '../../src/cluster/work-queue.js';
import { now } from '../../src/core/clock.js';
import type { PollfleetEvent, RedisQueueEvent } from '../../src/core/events.js';
import { Guid } from '../../src/halibut/guid.js';
import { okResponse, requestId, serviceEndPoint } from '../../src/halibut/messages.js';
import type { RedisQueueSettings } from '../../src/scenario/defaults.js';
import { PROTOCOL_DEFAULTS } from '../../src/scenario/defaults.js';
import { testNeeding } from '../helpers/system-binary.js';

const SUB = 'poll://abcdefghjkmnpqrstuvw/';
const NEEDS = ['redis-server', 'apt-get install redis-server'] as const;

/** Every timing shortened so each test ends within seconds. */
const FAST: Partial<RedisQueueSettings> = {
  heartbeatInitialDelayMs: 100,
  heartbeatIntervalMs: 200,
  senderGivesUpAfterMs: 1_000,
  processorGivesUpAfterMs: 1_500,
  responsePollFirstMs: 300,
  responsePollStepMs: 100,
  responsePollMaxMs: 500,
  operationRetryWindowMs: 600,
  operationRetryIntervalMs: 50,
  commandTimeoutMs: 200,
  dequeueErrorDropMaxMs: 300,
  dataLossCheckIntervalMs: 200,
  reconnectStepMs: 50,
  reconnectMaxMs: 200,
};

function item(owner: string, key: number): QueueItem {
  const activity = Guid.random();
  return {
    key, owner, subscription: SUB, enqueuedAt: now(),
    request: {
      id: requestId('ICapabilitiesServiceV2', 'GetCapabilities', key, activity),
      activityId: activity,
      endpoint: serviceEndPoint(SUB, null, { ...PROTOCOL_DEFAULTS, tcpClientConnectTimeoutMs: PROTOCOL_DEFAULTS.connectTimeoutMs }),
      service: 'ICapabilitiesServiceV2', method: 'GetCapabilities', params: [],
    },
  };
}

async function server(t: Test, path: string): Promise<RedisServer> {
  const s = new RedisServer(path);
  await s.start();
  t.teardown(() => s.stop());
  return s;
}

async function queue(t: Test, url: string, node: string, events: PollfleetEvent[], extra: Partial<ConstructorParameters<typeof RedisQueue>[0]> = {}): Promise<RedisQueue> {
  const q = new RedisQueue({ url, namespace: 'ns', node, sink: (e) => events.push(e), expiryTickMinMs: 50, settings: FAST, ...extra });
  await q.connect();
  t.teardown(() => q.close());
  return q;
}

const redisEvents = (events: PollfleetEvent[], what: RedisQueueEvent['what']) => events.filter((e): e is RedisQueueEvent => e.type === 'redis-queue' && e.what === what);

testNeeding(t, ...NEEDS, 'SIGKILL of the node holding a request: the sender fails it within the heartbeat window', async (t, path) => {
  const redis = await server(t, path);
  const events: PollfleetEvent[] = [];
  const a = await queue(t, redis.url, 'node1', events);
  const child = fork(fileURLToPath(new URL('../helpers/redis-processor.ts', import.meta.url)), [redis.url, 'ns', SUB], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.teardown(() => void child.kill('SIGKILL'));
  const took = new Promise<unknown>((r) => child.once('message', r));
  await new Promise((r) => setTimeout(r, 1_500)); // the child is connected and waiting (tsx start-up)
  const outcome = a.enqueue(item('node1', 1), 20_000);
  t.same(await took, { took: 1 }, 'the other node collected the request');
  // Its heartbeats keep the request alive well past the give-up time...
  await new Promise((r) => setTimeout(r, 1_500));
  t.equal(redisEvents(events, 'request-failed').length, 0, 'a live processor keeps the request alive');
  const killedAt = now();
  child.kill('SIGKILL');
  const o = await outcome;
  const took2 = now() - killedAt;
  t.equal(o.outcome, 'failed');
  if (o.outcome === 'failed') t.equal(o.errorKind, 'queue.heartbeat-lost');
  t.ok(took2 >= 700 && took2 < 2_500, `failed ${Math.round(took2)} ms after the kill (give-up 1000 ms)`);
  t.equal(redisEvents(events, 'request-failed').filter((e) => e.reason === 'heartbeat-lost').length, 1, 'counted once');
});

testNeeding(t, ...NEEDS, 'a lost publish does not hang a request: the sender polls for the stored response', async (t, path) => {
  const redis = await server(t, path);
  const events: PollfleetEvent[] = [];
  const a = await queue(t, redis.url, 'node1', events);
  let dropped = 0;
  const b = await queue(t, redis.url, 'node2', [], { dropPublish: () => (dropped++, true) });
  const taking = b.take(SUB, 'node2', 3_000, new AbortController().signal);
  const it = item('node1', 5);
  const outcome = a.enqueue(it, 5_000);
  const taken = await taking;
  t.ok(taken);
  b.complete(taken!, { outcome: 'answered', servedBy: 'node2', response: okResponse(taken!.request.id, { ok: 1 }) });
  const started = now();
  const o = await Promise.race([outcome, new Promise<null>((r) => setTimeout(() => r(null), 3_000))]);
  t.equal(dropped, 1, 'the announcement was dropped');
  t.ok(o, 'the request did not hang');
  t.equal(o?.outcome, 'answered', 'answered through polling for the stored response');
  t.ok(now() - started < 1_500, 'within the poll interval');
});

testNeeding(t, ...NEEDS, 'redis-restart (all data lost): in-flight requests cancelled and counted, then the queue works again', async (t, path) => {
  const redis = await server(t, path);
  const events: PollfleetEvent[] = [];
  const a = await queue(t, redis.url, 'node1', events);
  const b = await queue(t, redis.url, 'node2', []);
  const queued = a.enqueue(item('node1', 1), 30_000);
  const taking = b.take('poll://otherotherotherother/', 'node2', 100, new AbortController().signal);
  t.equal(await taking, null);
  const collectedOutcome = a.enqueue({ ...item('node1', 2), subscription: 'poll://collectedcollected23/' }, 30_000);
  const held = await b.take('poll://collectedcollected23/', 'node2', 2_000, new AbortController().signal);
  t.ok(held, 'one request is collected and held by node2');
  await redis.restart();
  const [o1, o2] = await Promise.all([queued, collectedOutcome]);
  t.equal(o1.outcome, 'failed');
  t.equal(o2.outcome, 'failed');
  if (o1.outcome === 'failed') t.equal(o1.errorKind, 'queue.data-lost');
  t.equal(redisEvents(events, 'data-lost').length, 1, 'the data loss is one event');
  t.equal(redisEvents(events, 'request-failed').filter((e) => e.reason === 'data-lost').length, 2, 'both in-flight requests counted');
  // The clients reconnected on their own: the queue works again.
  const again = a.enqueue(item('node1', 3), 5_000);
  const taken = await b.take(SUB, 'node2', 3_000, new AbortController().signal);
  t.equal(taken?.key, 3, 'a request queued after the restart is collected');
  b.complete(taken!, { outcome: 'answered', servedBy: 'node2', response: okResponse(taken!.request.id, { ok: 1 }) });
  t.equal((await again).outcome, 'answered');
});

testNeeding(t, ...NEEDS, 'redis-pause longer than the retry window: a waiting take drops its connection; after SIGCONT work flows', async (t, path) => {
  const redis = await server(t, path);
  const events: PollfleetEvent[] = [];
  const a = await queue(t, redis.url, 'node1', events);
  redis.pause(true);
  const started = now();
  const err = await a.take(SUB, 'node1', 10_000, new AbortController().signal).then(() => null, (e: Error & { kind?: string }) => e);
  const tookMs = now() - started;
  t.ok(err, 'take() rejects: the node drops the tentacle connection instead of sending null messages');
  t.equal(err?.kind, 'environment.failed');
  t.ok(tookMs >= 550 && tookMs < 2_000, `after the retry window and a random delay (${Math.round(tookMs)} ms)`);
  t.equal(redisEvents(events, 'connection-dropped').length, 1);
  t.ok(redisEvents(events, 'unavailable').length >= 1, 'the outage is an event');
  redis.pause(false);
  const outcome = a.enqueue(item('node1', 9), 5_000);
  const taken = await a.take(SUB, 'node1', 3_000, new AbortController().signal);
  t.equal(taken?.key, 9, 'after SIGCONT the queue hands out work again');
  a.complete(taken!, { outcome: 'answered', servedBy: 'node1', response: okResponse(taken!.request.id, { ok: 1 }) });
  t.equal((await outcome).outcome, 'answered');
  t.ok(redisEvents(events, 'recovered').length >= 1, 'the recovery is an event');
});
