import { targetNode, type FaultActionDefinition } from './fault-action.js';

/** SIGKILL the node process: the kernel closes its sockets; for: restart it on the same ports. */
export const crashAction = {
  action: 'crash',
  blocksTarget: true,
  apply: async (f, ctx) => {
    ctx.cluster.crash(targetNode(f));
  },
  revert: async (f, ctx) => {
    await ctx.cluster.startNode(targetNode(f));
  },
} satisfies FaultActionDefinition;
