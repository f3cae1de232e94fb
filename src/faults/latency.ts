import { z } from 'zod';
import type { FaultDefinition } from './fault-definition.js';
import type { ResolvedFault } from './fault-spec.js';
import { networkFields, nonNegative, resolveNetwork, type NetworkParams } from './fault-params.js';
import { addToxic, PROXY_TARGETS, removeToxic } from './network-toxic.js';

const params = z.strictObject({ ...networkFields, latencyMs: nonNegative, jitterMs: nonNegative.optional() });

type Params = NetworkParams & { latencyMs: number; jitterMs: number };

/** Its parameters in words. */
function describe(f: ResolvedFault<'latency', Params>): string {
  return `${f.latencyMs} ms${f.jitterMs ? ` +- ${f.jitterMs} ms` : ''}${f.direction !== 'both' ? ` ${f.direction}` : ''}`;
}

/** Delay data by latencyMs (+- jitterMs) through the fault proxy; for: remove it. */
export const latencyFault = {
  kind: 'latency',
  params,
  resolve: (p) => ({ ...resolveNetwork(p), latencyMs: p.latencyMs, jitterMs: p.jitterMs ?? 0 }),
  targets: PROXY_TARGETS,
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => addToxic('latency', f, { latencyMs: f.latencyMs, jitterMs: f.jitterMs }, ctx),
  revert: removeToxic,
  describe,
  story: (f) => ({ what: `${describe(f)} latency was added on ${f.targetText}`, back: 'they noticed' }),
} satisfies FaultDefinition<'latency', typeof params, Params>;
