import { z } from 'zod';
import type { FaultDefinition } from './fault-definition.js';
import type { ResolvedFault } from './fault-spec.js';
import { networkFields, resolveNetwork, type NetworkParams } from './fault-params.js';
import { addToxic, PROXY_TARGETS, removeToxic } from './network-toxic.js';

const params = z.strictObject({ ...networkFields, bytes: z.number().int().min(0, 'expected a number of bytes >= 0') });

type Params = NetworkParams & { limitBytes: number };

/** Its parameters in words. */
function describe(f: ResolvedFault<'limit-data', Params>): string {
  return `${f.limitBytes} bytes`;
}

/** Close each connection after `bytes` bytes through the fault proxy; for: remove the limit. */
export const limitDataFault = {
  kind: 'limit-data',
  params,
  resolve: (p) => ({ ...resolveNetwork(p), limitBytes: p.bytes }),
  targets: PROXY_TARGETS,
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => addToxic('limit-data', f, { limitBytes: f.limitBytes }, ctx),
  revert: removeToxic,
  describe,
  story: (f) => ({ what: `connections on ${f.targetText} were closed after ${describe(f)}`, back: 'they noticed' }),
} satisfies FaultDefinition<'limit-data', typeof params, Params>;
