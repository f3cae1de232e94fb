import t from 'tap';
import type { PollfleetEvent, RedisQueueEvent } from '../../../src/core/events.js';
import { faultScenario, runWithEvents } from '../../helpers/faults.js';
import { testNeeding } from '../../helpers/system-binary.js';

const NEEDS = ['redis-server', 'apt-get install redis-server'] as const;

/** Multi-node polling through the redis-server pollfleet starts itself, every Redis timing shortened. */
function redisScenario(name: string, faults: Record<string, unknown>[]): Record<string, unknown> {
  return faultScenario({
    name,
    route: { kind: 'single-address' },
    cluster: {
      nodes: 2,
      pollingPort: 0,
      queue: 'redis',
      redisQueue: {
        heartbeatInterval: '200ms', heartbeatInitialDelay: '100ms', senderGivesUpAfter: '2s', processorGivesUpAfter: '3s',
        operationRetryWindow: '1s', commandTimeout: '300ms', dequeueErrorDropMax: '500ms', dataLossCheckInterval: '300ms',
      },
    },
    fleet: { tentacles: 4, rampUp: '1s' },
    workload: { interval: '300ms' },
    duration: '14s',
    faults,
  });
}

const redisEvents = (events: PollfleetEvent[], what: RedisQueueEvent['what']) => events.filter((e): e is RedisQueueEvent => e.type === 'redis-queue' && e.what === what);
const noNodeDied = (t: Test, events: PollfleetEvent[]) =>
  t.same(events.filter((e) => e.type === 'node-state' && e.state === 'crashed').map((e) => (e as { node: string }).node), [], 'no node process died');
type Test = Parameters<Parameters<typeof testNeeding>[4]>[0];

testNeeding(t, ...NEEDS, 'redis-restart mid-run: every node detects the lost data, the queue works again, no node dies', async (t) => {
  const { result, events } = await runWithEvents(redisScenario('redis-restart', [{ at: '4s', action: 'redis-restart', target: 'redis' }]), t.testdir());
  t.equal(result.faults[0]!.action, 'redis-restart');
  const lost = redisEvents(events, 'data-lost');
  t.same([...new Set(lost.map((e) => e.node))].sort(), ['node1', 'node2'], 'both nodes noticed Redis lost its data');
  const failed = redisEvents(events, 'request-failed').filter((e) => e.reason === 'data-lost');
  t.comment(`in-flight requests cancelled by the data loss: ${failed.length}`);
  t.equal(result.summary.redisQueue?.['request-failed:data-lost'] ?? 0, failed.length, 'counted in the Result');
  t.equal(result.summary.redisQueue?.['data-lost'], 2, 'one data loss per node in the Result');
  const runStart = events[0]!.at;
  const lastLoss = Math.max(...lost.map((e) => e.at));
  const answeredAfter = events.filter((e) => e.type === 'request-answered' && e.at > lastLoss).length;
  t.ok(answeredAfter > 5, `requests answered after Redis came back (${answeredAfter})`);
  noNodeDied(t, events);
  t.ok(lastLoss - runStart < 30_000);
});

testNeeding(t, ...NEEDS, 'redis-pause longer than the retry window: tentacle connections are dropped, then re-established', async (t) => {
  const { result, events } = await runWithEvents(redisScenario('redis-pause', [{ at: '3s', action: 'redis-pause', target: 'redis', for: '3s' }]), t.testdir());
  const dropped = redisEvents(events, 'connection-dropped');
  t.ok(dropped.length >= 2, `waiting connections were dropped by their nodes (${dropped.length})`);
  const firstDrop = Math.min(...dropped.map((e) => e.at));
  const identifiedAfter = events.filter((e) => e.type === 'node-identified' && e.at > firstDrop).length;
  t.ok(identifiedAfter >= dropped.length, `tentacles identified again after the pause (${identifiedAfter})`);
  t.ok(redisEvents(events, 'unavailable').length >= 1 && redisEvents(events, 'recovered').length >= 1, 'the outage and the recovery are events');
  t.equal(result.summary.coverage.final, 1, 'every pair covered at the end');
  noNodeDied(t, events);
});
