import type { FaultDefinition } from './fault-definition.js';
import { faultSubject } from './fault-spec.js';
import { targetNode } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** Start a stopped node on the same ports. */
export const startFault = {
  kind: 'start',
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
  story: (f) => ({ what: `${faultSubject(f)} was started`, back: `${faultSubject(f)} returned` }),
} satisfies FaultDefinition<'start', typeof noParams, NoParams>;
