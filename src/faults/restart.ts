import type { FaultDefinition } from './fault-definition.js';
import { faultSubject } from './fault-spec.js';
import { targetNode } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** Start a crashed or stopped node again on the same ports. */
export const restartFault = {
  kind: 'restart',
  params: noParams,
  resolve: resolveNoParams,
  targets: { node: [] },
  blocksTarget: false,
  undoes: ['crash', 'stop'],
  losesQueuedWork: false,
  apply: async (f, ctx) => {
    await ctx.cluster.startNode(targetNode(f));
  },
  describe: () => '',
  story: (f) => ({ what: `${faultSubject(f)} was restarted`, back: `${faultSubject(f)} returned` }),
} satisfies FaultDefinition<'restart', typeof noParams, NoParams>;
