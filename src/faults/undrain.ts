import type { FaultDefinition } from './fault-definition.js';
import { faultSubject } from './fault-spec.js';
import { targetNode } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** Leave drain mode (ping answers 200 again). */
export const undrainFault = {
  kind: 'undrain',
  params: noParams,
  resolve: resolveNoParams,
  targets: { node: [] },
  blocksTarget: false,
  undoes: ['drain'],
  losesQueuedWork: false,
  apply: (f, ctx) => {
    ctx.cluster.setDraining(targetNode(f), false);
  },
  describe: () => '',
  story: (f) => ({ what: `${faultSubject(f)} left drain mode`, back: 'they noticed' }),
} satisfies FaultDefinition<'undrain', typeof noParams, NoParams>;
