import t from 'tap';
import type { FaultContext, FaultRedis } from '../../src/faults/fault-context.js';
import { faultDefinition } from '../../src/faults/fault-registry.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { faultScenario } from '../helpers/faults.js';

const REDIS_CLUSTER = { cluster: { nodes: 3, pollingPort: 0, queue: 'redis' } };

function problems(faults: unknown[], over: Record<string, unknown> = {}): string {
  try {
    scenarioFromObject(faultScenario({ duration: '30s', faults, ...over }), 'f.yaml');
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

t.test('Redis faults need the redis-server pollfleet starts, and target redis', async (t) => {
  t.match(problems([{ at: '1s', action: 'redis-pause', target: 'redis', for: '2s' }]), /faults\[0\]\.action: redis-pause acts on the redis-server pollfleet starts itself: set cluster.queue: redis/);
  t.match(
    problems([{ at: '1s', action: 'redis-restart', target: 'redis' }], { cluster: { nodes: 3, pollingPort: 0, queue: 'redis', redisUrl: 'redis://127.0.0.1:6379' } }),
    /leave cluster.redisUrl unset/,
    'not on a Redis the user owns',
  );
  t.match(problems([{ at: '1s', action: 'redis-kill', target: 'node1' }], REDIS_CLUSTER), /faults\[0\]\.target: redis-kill kills the redis-server pollfleet started/);
  t.match(problems([{ at: '1s', action: 'crash', target: 'redis' }], REDIS_CLUSTER), /faults\[0\]\.target: crash/, 'node kinds refuse the redis target');
  t.equal(problems([{ at: '1s', action: 'redis-latency', target: 'redis', latencyMs: 100, for: '2s' }], REDIS_CLUSTER), '');
});

t.test('apply and revert act on the Redis handle; redis-latency removes exactly the toxic it added', async (t) => {
  const calls: string[] = [];
  const redis: FaultRedis = {
    restart: async () => void calls.push('restart'),
    kill: async () => void calls.push('kill'),
    start: async () => void calls.push('start'),
    pause: (on) => void calls.push(on ? 'SIGSTOP' : 'SIGCONT'),
    proxy: {
      addToxic: (kind, params, o) => (calls.push(`add ${kind} ${params.latencyMs} ${o.direction}`), 7),
      removeToxic: (id) => void calls.push(`remove ${id}`),
      resetConnections: () => 0,
    },
  };
  const ctx = { cluster: {} as FaultContext['cluster'], balancer: null, proxies: null, redis, state: new Map(), log: () => undefined } satisfies FaultContext;
  const s = scenarioFromObject(
    faultScenario({
      duration: '30s', ...REDIS_CLUSTER,
      faults: [
        { at: '1s', action: 'redis-pause', target: 'redis', for: '1s' },
        { at: '3s', action: 'redis-kill', target: 'redis', for: '1s' },
        { at: '5s', action: 'redis-restart', target: 'redis' },
        { at: '6s', action: 'redis-latency', target: 'redis', latencyMs: 80, for: '1s' },
      ],
    }),
    'f.yaml',
  );
  for (const f of s.faults) {
    const d = faultDefinition(f.action);
    await d.apply(f, ctx);
    await d.revert?.(f, ctx);
  }
  t.same(calls, ['SIGSTOP', 'SIGCONT', 'kill', 'start', 'restart', 'add latency 80 both', 'remove 7']);
  t.equal(ctx.state.size, 0, 'no state left behind');
  const noRedis = { ...ctx, redis: null };
  const err = await Promise.resolve()
    .then(() => faultDefinition('redis-pause').apply(s.faults[0]!, noRedis))
    .then(() => null, (e: { kind?: string }) => e);
  t.equal(err?.kind, 'fault.unavailable', 'no Redis handle: a fault error, the run goes on');
});
