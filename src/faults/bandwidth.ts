import { z } from 'zod';
import type { FaultDefinition } from './fault-definition.js';
import type { ResolvedFault } from './fault-spec.js';
import { networkFields, resolveNetwork, type NetworkParams } from './fault-params.js';
import { addToxic, PROXY_TARGETS, removeToxic } from './network-toxic.js';

const params = z.strictObject({ ...networkFields, bytesPerSec: z.number().min(1, 'expected at least 1 byte per second') });

type Params = NetworkParams & { bytesPerSec: number };

/** Its parameters in words. */
function describe(f: ResolvedFault<'bandwidth', Params>): string {
  return `${f.bytesPerSec} bytes/s`;
}

/** Limit the rate through the fault proxy to bytesPerSec; for: remove the limit. */
export const bandwidthFault = {
  kind: 'bandwidth',
  params,
  resolve: (p) => ({ ...resolveNetwork(p), bytesPerSec: p.bytesPerSec }),
  targets: PROXY_TARGETS,
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => addToxic('bandwidth', f, { bytesPerSec: f.bytesPerSec }, ctx),
  revert: removeToxic,
  describe,
  story: (f) => ({ what: `bandwidth on ${f.targetText} was limited to ${describe(f)}`, back: 'they noticed' }),
} satisfies FaultDefinition<'bandwidth', typeof params, Params>;
