import { z } from 'zod';
import type { FaultDefinition } from './fault-definition.js';
import { balancerOf } from './fault-context.js';
import { networkFields, resolveNetwork, type NetworkParams } from './fault-params.js';
import { addToxic, PROXY_OR_BALANCER_TARGETS, removeToxic } from './network-toxic.js';

const params = z.strictObject({ ...networkFields });

/**
 * Drop the target's traffic, closing nothing: through the fault proxy, or on
 * `balancer:<node>` / `balancer` by the balancer simulator itself (the NLB silent drop);
 * for: lift it.
 */
export const blackholeFault = {
  kind: 'blackhole',
  params,
  resolve: resolveNetwork,
  targets: PROXY_OR_BALANCER_TARGETS,
  blocksTarget: true,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => {
    if (f.target.kind === 'balancer-target' || f.target.kind === 'balancer') {
      balancerOf(f, ctx).blackhole(f.target.kind === 'balancer' ? undefined : f.target.node, true);
      return;
    }
    addToxic('blackhole', f, {}, ctx);
  },
  revert: (f, ctx) => {
    if (f.target.kind === 'balancer-target' || f.target.kind === 'balancer') {
      balancerOf(f, ctx).blackhole(f.target.kind === 'balancer' ? undefined : f.target.node, false);
      return;
    }
    removeToxic(f, ctx);
  },
  describe: () => '',
  story: (f) => ({ what: `traffic on ${f.targetText} was blackholed (dropped, nothing closed)`, back: 'the blackhole was lifted' }),
} satisfies FaultDefinition<'blackhole', typeof params, NetworkParams>;
