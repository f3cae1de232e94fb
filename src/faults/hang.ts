import { targetNode, type FaultActionDefinition } from './fault-action.js';

/** SIGSTOP the node process: connections stay half-open, only timeouts notice; for: SIGCONT. */
export const hangAction = {
  action: 'hang',
  blocksTarget: true,
  apply: async (f, ctx) => {
    ctx.cluster.hang(targetNode(f), true);
  },
  revert: async (f, ctx) => {
    ctx.cluster.hang(targetNode(f), false);
  },
} satisfies FaultActionDefinition;
