import type { FaultDefinition } from './fault-definition.js';
import { faultSubject } from './fault-spec.js';
import { targetNode } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** SIGCONT a hung node. */
export const resumeFault = {
  kind: 'resume',
  params: noParams,
  resolve: resolveNoParams,
  targets: { node: [] },
  blocksTarget: false,
  undoes: ['hang'],
  losesQueuedWork: false,
  apply: (f, ctx) => {
    ctx.cluster.hang(targetNode(f), false);
  },
  describe: () => '',
  story: (f) => ({ what: `${faultSubject(f)} was resumed (SIGCONT)`, back: 'they noticed' }),
} satisfies FaultDefinition<'resume', typeof noParams, NoParams>;
