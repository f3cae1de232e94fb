import { balancerOf, targetNode, type FaultActionDefinition } from './fault-action.js';

/** Mark the balancer target unhealthy (as if its probes failed); for: healthy again. */
export const unhealthyAction = {
  action: 'unhealthy',
  blocksTarget: false,
  apply: async (f, ctx) => {
    balancerOf(f, ctx).setHealth(targetNode(f), false);
  },
  revert: async (f, ctx) => {
    balancerOf(f, ctx).setHealth(targetNode(f), true);
  },
} satisfies FaultActionDefinition;
