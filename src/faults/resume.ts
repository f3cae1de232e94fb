import { targetNode, type FaultActionDefinition } from './fault-action.js';

/** SIGCONT a hung node. */
export const resumeAction = {
  action: 'resume',
  blocksTarget: false,
  undoes: ['hang'],
  apply: async (f, ctx) => {
    ctx.cluster.hang(targetNode(f), false);
  },
} satisfies FaultActionDefinition;
