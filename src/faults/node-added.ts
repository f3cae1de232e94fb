import type { FaultDefinition } from './fault-definition.js';
import { faultSubject } from './fault-spec.js';
import { targetNode } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/**
 * A node joins the cluster mid-run. The run starts without it and no tentacle lists it: like a
 * Kubernetes agent, whose server list (`agent.serverCommsAddresses`) and trust are set at first
 * launch, or a Tentacle registered before the node existed (`poll-server` per node). Once it
 * joins it takes tasks and queues work for every machine -- which nobody collects, so it
 * expires. The real pitfall: nothing tells the fleet that a node was added.
 * Per-node routes only: behind a balancer the new node is reached through the old address.
 */
export const nodeAddedFault = {
  kind: 'node-added',
  params: noParams,
  resolve: resolveNoParams,
  targets: { node: [] },
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  joinsCluster: true,
  apply: async (f, ctx) => {
    await ctx.cluster.startNode(targetNode(f));
  },
  describe: () => '',
  story: (f) => ({
    what: `${faultSubject(f)} joined the cluster`,
    back: `${faultSubject(f)} joined`,
    note: () => `tentacles configured before it do not know ${faultSubject(f)}: they never poll it`,
  }),
  diagnosis: (f) =>
    `${faultSubject(f)} joined the cluster during the run and no tentacle polled it: a polling tentacle's server list is set when it is configured ` +
    `(a Kubernetes agent's agent.serverCommsAddresses and trust at first launch; a Tentacle's poll-server entries), so work queued on ${faultSubject(f)} for them expires -- ` +
    `when adding a node, add its polling address to every agent (helm upgrade with the new address) or Tentacle (Tentacle poll-server) and restart them.`,
} satisfies FaultDefinition<'node-added', typeof noParams, NoParams>;
