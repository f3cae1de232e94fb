import type { FaultDefinition } from './fault-definition.js';
import { faultSubject } from './fault-spec.js';
import { targetNode } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** SIGKILL the node process: the kernel closes its sockets; for: restart it on the same ports. */
export const crashFault = {
  kind: 'crash',
  params: noParams,
  resolve: resolveNoParams,
  targets: { node: ['node-processes'] },
  blocksTarget: true,
  undoes: [],
  // the node's queue dies with the process
  losesQueuedWork: true,
  apply: (f, ctx) => {
    ctx.cluster.crash(targetNode(f));
  },
  revert: async (f, ctx) => {
    await ctx.cluster.startNode(targetNode(f));
  },
  describe: () => '',
  story: (f) => ({ what: `${faultSubject(f)} crashed (SIGKILL)`, back: `${faultSubject(f)} returned` }),
} satisfies FaultDefinition<'crash', typeof noParams, NoParams>;
