import type { FaultDefinition } from './fault-definition.js';
import { faultSubject } from './fault-spec.js';
import { balancerOf, targetNode } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** Mark the balancer target unhealthy (as if its probes failed); for: healthy again. */
export const unhealthyFault = {
  kind: 'unhealthy',
  params: noParams,
  resolve: resolveNoParams,
  targets: { 'balancer-target': ['balancer-simulator'] },
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => {
    balancerOf(f, ctx).setHealth(targetNode(f), false);
  },
  revert: (f, ctx) => {
    balancerOf(f, ctx).setHealth(targetNode(f), true);
  },
  describe: () => '',
  story: (f) => ({ what: `balancer target ${faultSubject(f)} was marked unhealthy`, back: 'they noticed' }),
} satisfies FaultDefinition<'unhealthy', typeof noParams, NoParams>;
