import { targetNode, type FaultActionDefinition } from './fault-action.js';

/** Leave drain mode (ping answers 200 again). */
export const undrainAction = {
  action: 'undrain',
  blocksTarget: false,
  undoes: ['drain'],
  apply: async (f, ctx) => {
    ctx.cluster.setDraining(targetNode(f), false);
  },
} satisfies FaultActionDefinition;
