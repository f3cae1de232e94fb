import { targetNode, type FaultActionDefinition } from './fault-action.js';

/** Start a stopped node on the same ports. */
export const startAction = {
  action: 'start',
  blocksTarget: false,
  undoes: ['crash', 'stop'],
  apply: async (f, ctx) => {
    await ctx.cluster.startNode(targetNode(f));
  },
} satisfies FaultActionDefinition;
