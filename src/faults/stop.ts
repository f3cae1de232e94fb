import { targetNode, type FaultActionDefinition } from './fault-action.js';

/** Graceful stop: END on every connection, then close; for: start it again. */
export const stopAction = {
  action: 'stop',
  blocksTarget: true,
  apply: async (f, ctx) => {
    await ctx.cluster.stopNode(targetNode(f));
  },
  revert: async (f, ctx) => {
    await ctx.cluster.startNode(targetNode(f));
  },
} satisfies FaultActionDefinition;
