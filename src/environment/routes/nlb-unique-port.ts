import { serverEntry } from '../../tentacle/server-entry.js';
import { startL4 } from './balancer-targets.js';
import type { RouteDefinition } from './route.js';

/** One balancer address, one listener port per node (10943 -> node1, 10944 -> node2, ...): the NAT design. */
export const nlbUniquePortRoute = {
  kind: 'nlb-unique-port',
  summary: 'one balancer address, a listener port per node forwarding to that node only (NAT)',
  build: async (ctx) => {
    const lb = await startL4(ctx, 'unique-port');
    return {
      entries: lb.ports.map((port, i) => serverEntry(`https://${lb.host}:${port}`, ctx.serverThumbprint, ctx.nodes[i]!.name)),
      entryNodes: lb.ports.map((_, i) => i),
      registrationUrls: ctx.nodes.map((n) => n.apiUrl),
      balancer: lb.label,
      stop: lb.stop,
      faultTargets: { balancer: lb.simulator },
    };
  },
} satisfies RouteDefinition;
