import { z } from 'zod';
import { FAULT_DEFAULTS } from '../scenario/defaults.js';
import type { FaultDefinition } from './fault-definition.js';
import { share } from './fault-params.js';
import { PROXY_OR_BALANCER_TARGETS, resetConnections } from './network-toxic.js';

const params = z.strictObject({ share: share.optional() });

/** RST a share of the target's connections now (the unhealthy-target reset). */
export const resetFault = {
  kind: 'reset',
  params,
  resolve: (p) => ({ share: p.share ?? FAULT_DEFAULTS.share }),
  targets: PROXY_OR_BALANCER_TARGETS,
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => {
    const n = resetConnections(f, ctx);
    ctx.log(`${f.name}: reset ${n} connection${n === 1 ? '' : 's'}`);
  },
  describe: () => '',
  story: (f) => ({ what: `connections on ${f.targetText} were reset (RST)`, back: 'the reset' }),
} satisfies FaultDefinition<'reset', typeof params, { share: number }>;
