import { balancerOf, targetNode, type FaultActionDefinition } from './fault-action.js';

/** Register the target with the balancer again. */
export const registerAction = {
  action: 'register',
  blocksTarget: false,
  undoes: ['deregister'],
  apply: async (f, ctx) => {
    balancerOf(f, ctx).register(targetNode(f));
  },
} satisfies FaultActionDefinition;
