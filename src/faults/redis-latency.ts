import { z } from 'zod';
import type { FaultDefinition } from './fault-definition.js';
import type { ResolvedFault } from './fault-spec.js';
import { redisOf } from './fault-context.js';
import { networkFields, nonNegative, resolveNetwork, type NetworkParams } from './fault-params.js';

const params = z.strictObject({ ...networkFields, latencyMs: nonNegative, jitterMs: nonNegative.optional() });

type Params = NetworkParams & { latencyMs: number; jitterMs: number };

function describe(f: ResolvedFault<'redis-latency', Params>): string {
  return `${f.latencyMs} ms${f.jitterMs ? ` +- ${f.jitterMs} ms` : ''}${f.direction !== 'both' ? ` ${f.direction}` : ''}`;
}

/** Delay the traffic between the nodes and Redis (the fault proxy in front of the embedded redis-server); for: remove it. */
export const redisLatencyFault = {
  kind: 'redis-latency',
  params,
  resolve: (p) => ({ ...resolveNetwork(p), latencyMs: p.latencyMs, jitterMs: p.jitterMs ?? 0 }),
  targets: { redis: ['embedded-redis'] },
  actsOn: 'delays the traffic between the nodes and the redis-server pollfleet started',
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => {
    const proxy = redisOf(f, ctx).proxy;
    const toxic = { latencyMs: f.latencyMs, jitterMs: f.jitterMs, bytesPerSec: 0, sliceBytes: 0, sliceDelayMs: 0, limitBytes: 0 };
    ctx.state.set(f, proxy.addToxic('latency', toxic, { direction: f.direction, share: f.share }));
  },
  revert: (f, ctx) => {
    const id = ctx.state.get(f);
    ctx.state.delete(f);
    if (typeof id === 'number') ctx.redis?.proxy.removeToxic(id);
  },
  describe,
  story: (f) => ({ what: `${describe(f)} latency was added between the nodes and Redis`, back: 'they noticed' }),
} satisfies FaultDefinition<'redis-latency', typeof params, Params>;
