import { targetNode, type FaultActionDefinition } from './fault-action.js';

/** Drain mode: ping answers 418, existing connections are still served; for: undrain. */
export const drainAction = {
  action: 'drain',
  blocksTarget: false,
  apply: async (f, ctx) => {
    ctx.cluster.setDraining(targetNode(f), true);
  },
  revert: async (f, ctx) => {
    ctx.cluster.setDraining(targetNode(f), false);
  },
} satisfies FaultActionDefinition;
