import { serverEntry } from '../../tentacle/server-entry.js';
import { nlbIdleTimeoutMs, startL4 } from './balancer-targets.js';
import { planAddress, registrationUrls, type MeasuredRun, type RouteDefinition } from './route.js';

function list(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * With a queue per node, one balanced address explains the coverage: each tentacle reaches
 * only the node its connection landed on. With multi-node polling that is fine; a node
 * nobody polls still gets the generic sentence, a partly polled one none (one entry for all).
 */
function coverage(r: MeasuredRun, generic: { neverPolled: string[] }): string[] {
  if (r.queue !== 'per-node') return generic.neverPolled;
  const T = r.summary.tentacles;
  const never = r.summary.nodesNeverPolled;
  if (never.length) {
    const reached = r.nodes.filter((n) => !never.includes(n.name) && (n.polledBy ?? 0) > 0).map((n) => n.name);
    return [
      `${list(never)} never received a poll: every tentacle reaches only the node its single connection was balanced to${reached.length ? ` (${list(reached)})` : ''} ` +
        '-- give each node its own address or port, or enable multi-node polling (a shared queue).',
    ];
  }
  const partial = r.nodes.filter((n) => n.polledBy !== null && n.polledBy < T);
  if (!partial.length) return [];
  return [
    `Through one balanced address each tentacle polls only the node its connection landed on (${partial.map((n) => `${n.name}: ${n.polledBy}/${T} tentacles`).join(', ')}); ` +
      'work queued on the other nodes for those tentacles cannot be collected -- give each node its own address or port, or enable multi-node polling.',
  ];
}

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
      balancer: lb.label,
      stop: lb.stop,
      faultTargets: { balancer: lb.simulator },
    };
  },
  diagnosis: { coverage, balancerIdleTimeoutMs: nlbIdleTimeoutMs },
} satisfies RouteDefinition;
