import type { FaultDefinition } from './fault-definition.js';
import { faultSubject } from './fault-spec.js';
import { targetNode } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** Drain mode: ping answers 418, existing connections are still served; for: undrain. */
export const drainFault = {
  kind: 'drain',
  params: noParams,
  resolve: resolveNoParams,
  targets: { node: [] },
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => {
    ctx.cluster.setDraining(targetNode(f), true);
  },
  revert: (f, ctx) => {
    ctx.cluster.setDraining(targetNode(f), false);
  },
  describe: () => '',
  story: (f) => ({ what: `${faultSubject(f)} was put in drain mode (ping 418)`, back: 'they noticed' }),
} satisfies FaultDefinition<'drain', typeof noParams, NoParams>;
