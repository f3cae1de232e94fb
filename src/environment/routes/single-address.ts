import { serverEntry } from '../../tentacle/server-entry.js';
import { startL4 } from './balancer-targets.js';
import { planAddress, registrationUrls, type RouteDefinition } from './route.js';

/**
 * Every tentacle has ONE server entry -- a layer-4 balancer -- for all nodes. Each polling
 * connection lands on one node and stays there, so with a queue per node the other nodes'
 * work is never collected; with multi-node polling (a shared queue) any node can hand it out.
 */
export const singleAddressRoute = {
  kind: 'single-address',
  summary: 'one balanced address for all nodes (TCP pass-through): each connection reaches one node',
  balanced: true,
  planEntries: (ctx) => [{ address: planAddress('https', ctx.balancerHost, ctx.scenario.cluster.pollingPort), reaches: ctx.nodeNames }],
  build: async (ctx) => {
    const lb = await startL4(ctx, 'single');
    return {
      entries: [serverEntry(`https://${lb.host}:${lb.ports[0]}`, ctx.serverThumbprint, 'balancer')],
      entryNodes: [-1],
      registrationUrls: registrationUrls(ctx.scenario, ctx.nodes, null),
      webUrl: ctx.nodes[0]!.apiUrl,
      balancer: lb.label,
      stop: lb.stop,
      faultTargets: { balancer: lb.simulator },
    };
  },
} satisfies RouteDefinition;
