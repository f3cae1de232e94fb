import { z } from 'zod';
import { FAULT_DEFAULTS } from '../scenario/defaults.js';
import type { FaultDefinition } from './fault-definition.js';
import { share } from './fault-params.js';
import { PROXY_OR_BALANCER_TARGETS, resetConnections } from './network-toxic.js';

const params = z.strictObject({ share: share.optional() });

/**
 * Every tentacle's connections to the target are reset at once (the certificate-change /
 * RST-wave incident): they all come back through their back-off together.
 */
export const reconnectStormFault = {
  kind: 'reconnect-storm',
  params,
  resolve: (p) => ({ share: p.share ?? FAULT_DEFAULTS.share }),
  targets: PROXY_OR_BALANCER_TARGETS,
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => {
    const n = resetConnections(f, ctx);
    ctx.log(`${f.name}: reset ${n} connection${n === 1 ? '' : 's'} at once`);
  },
  describe: () => '',
  story: (f) => ({ what: `every connection on ${f.targetText} was reset at once (reconnect storm)`, back: 'the reset' }),
} satisfies FaultDefinition<'reconnect-storm', typeof params, { share: number }>;
