import { serverEntry } from '../../tentacle/server-entry.js';
import { nlbIdleTimeoutMs, startL4 } from './balancer-targets.js';
import { planAddress, registrationUrls, type RouteDefinition } from './route.js';

/** One balancer address, one listener port per node (10943 -> node1, 10944 -> node2, ...): the NAT design. */
export const nlbUniquePortRoute = {
  kind: 'nlb-unique-port',
  summary: 'one balancer address, a listener port per node forwarding to that node only (NAT)',
  balanced: true,
  planEntries: (ctx) => {
    const base = ctx.scenario.cluster.pollingPort;
    return ctx.nodeNames.map((name, i) => ({ address: planAddress('https', ctx.balancerHost, base === 0 ? 0 : base + i), reaches: [name] }));
  },
  build: async (ctx) => {
    const lb = await startL4(ctx, 'unique-port');
    return {
      entries: lb.ports.map((port, i) => serverEntry(`https://${lb.host}:${port}`, ctx.serverThumbprint, ctx.nodes[i]!.name)),
      entryNodes: lb.ports.map((_, i) => i),
      registrationUrls: registrationUrls(ctx.scenario, ctx.nodes, null),
      balancer: lb.label,
      stop: lb.stop,
      faultTargets: { balancer: lb.simulator },
    };
  },
  diagnosis: { balancerIdleTimeoutMs: nlbIdleTimeoutMs },
} satisfies RouteDefinition;
