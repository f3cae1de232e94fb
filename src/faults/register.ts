import type { FaultDefinition } from './fault-definition.js';
import { faultSubject } from './fault-spec.js';
import { balancerOf, targetNode } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** Register the target with the balancer again. */
export const registerFault = {
  kind: 'register',
  params: noParams,
  resolve: resolveNoParams,
  targets: { 'balancer-target': ['balancer-simulator'] },
  blocksTarget: false,
  undoes: ['deregister'],
  losesQueuedWork: false,
  apply: (f, ctx) => {
    balancerOf(f, ctx).register(targetNode(f));
  },
  describe: () => '',
  story: (f) => ({ what: `${faultSubject(f)} was registered with the balancer`, back: 'they noticed' }),
} satisfies FaultDefinition<'register', typeof noParams, NoParams>;
