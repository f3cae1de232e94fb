import { targetNode, type FaultActionDefinition } from './fault-action.js';

/** Start a crashed or stopped node again on the same ports. */
export const restartAction = {
  action: 'restart',
  blocksTarget: false,
  undoes: ['crash', 'stop'],
  apply: async (f, ctx) => {
    await ctx.cluster.startNode(targetNode(f));
  },
} satisfies FaultActionDefinition;
