import type { FaultDefinition } from './fault-definition.js';
import { faultSubject } from './fault-spec.js';
import { targetNode } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** Graceful stop: END on every connection, then close; for: start it again. */
export const stopFault = {
  kind: 'stop',
  params: noParams,
  resolve: resolveNoParams,
  targets: { node: [] },
  blocksTarget: true,
  undoes: [],
  // the node's queue goes with the stopped process
  losesQueuedWork: true,
  apply: async (f, ctx) => {
    await ctx.cluster.stopNode(targetNode(f));
  },
  revert: async (f, ctx) => {
    await ctx.cluster.startNode(targetNode(f));
  },
  describe: () => '',
  story: (f) => ({ what: `${faultSubject(f)} stopped gracefully`, back: `${faultSubject(f)} started again` }),
} satisfies FaultDefinition<'stop', typeof noParams, NoParams>;
