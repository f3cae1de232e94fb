import { z } from 'zod';
import { FAULT_DEFAULTS } from '../scenario/defaults.js';
import type { FaultDefinition } from './fault-definition.js';
import type { ResolvedFault } from './fault-spec.js';
import { networkFields, nonNegative, resolveNetwork, type NetworkParams } from './fault-params.js';
import { addToxic, PROXY_TARGETS, removeToxic } from './network-toxic.js';

const params = z.strictObject({ ...networkFields, sliceBytes: z.number().int().min(1, 'expected at least 1 byte').optional(), delayMs: nonNegative.optional() });

type Params = NetworkParams & { sliceBytes: number; sliceDelayMs: number };

/** Its parameters in words. */
function describe(f: ResolvedFault<'slice', Params>): string {
  return `~${f.sliceBytes}-byte`;
}

/** Cut writes into ~sliceBytes pieces, delayMs apart, through the fault proxy; for: remove it. */
export const sliceFault = {
  kind: 'slice',
  params,
  resolve: (p) => ({ ...resolveNetwork(p), sliceBytes: p.sliceBytes ?? FAULT_DEFAULTS.sliceBytes, sliceDelayMs: p.delayMs ?? 0 }),
  targets: PROXY_TARGETS,
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => addToxic('slice', f, { sliceBytes: f.sliceBytes, sliceDelayMs: f.sliceDelayMs }, ctx),
  revert: removeToxic,
  describe,
  story: (f) => ({ what: `writes on ${f.targetText} were sliced into ${describe(f)} pieces`, back: 'they noticed' }),
} satisfies FaultDefinition<'slice', typeof params, Params>;
