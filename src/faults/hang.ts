import type { FaultDefinition } from './fault-definition.js';
import { faultSubject } from './fault-spec.js';
import { targetNode } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** SIGSTOP the node process: connections stay half-open, only timeouts notice; for: SIGCONT. */
export const hangFault = {
  kind: 'hang',
  params: noParams,
  resolve: resolveNoParams,
  targets: { node: ['node-processes'] },
  blocksTarget: true,
  undoes: [],
  // the stopped process keeps its queue; it serves it again when resumed
  losesQueuedWork: false,
  apply: (f, ctx) => {
    ctx.cluster.hang(targetNode(f), true);
  },
  revert: (f, ctx) => {
    ctx.cluster.hang(targetNode(f), false);
  },
  describe: () => '',
  story: (f) => ({
    what: `${faultSubject(f)} hung (SIGSTOP)`,
    back: `${faultSubject(f)} resumed`,
    note: (receiveRequestTimeout) =>
      `a stopped process's kernel still acknowledges data and TCP keep-alive probes, so keep-alive cannot reveal a hang: only the tentacle's receive timeout (${receiveRequestTimeout}) can`,
  }),
} satisfies FaultDefinition<'hang', typeof noParams, NoParams>;
