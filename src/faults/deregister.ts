import type { FaultDefinition } from './fault-definition.js';
import { faultSubject } from './fault-spec.js';
import { balancerOf, targetNode } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** Take the target out of the balancer (new flows stop; existing ones last the deregistration delay); for: register. */
export const deregisterFault = {
  kind: 'deregister',
  params: noParams,
  resolve: resolveNoParams,
  targets: { 'balancer-target': ['balancer-simulator'] },
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => {
    balancerOf(f, ctx).deregister(targetNode(f));
  },
  revert: (f, ctx) => {
    balancerOf(f, ctx).register(targetNode(f));
  },
  describe: () => '',
  story: (f) => ({ what: `${faultSubject(f)} was deregistered from the balancer`, back: 'they noticed' }),
} satisfies FaultDefinition<'deregister', typeof noParams, NoParams>;
