import { balancerOf, targetNode, type FaultActionDefinition } from './fault-action.js';

/** Take the target out of the balancer (new flows stop; existing ones last the deregistration delay); for: register. */
export const deregisterAction = {
  action: 'deregister',
  blocksTarget: false,
  apply: async (f, ctx) => {
    balancerOf(f, ctx).deregister(targetNode(f));
  },
  revert: async (f, ctx) => {
    balancerOf(f, ctx).register(targetNode(f));
  },
} satisfies FaultActionDefinition;
