import { WEBSOCKET_PATH } from '../../halibut/websocket-frames.js';
import { serverEntry } from '../../tentacle/server-entry.js';
import { planAddress, registrationUrls, type RouteContext, type RouteDefinition, type RouteEnvironment } from './route.js';
import type { PlanEntry, RoutePlanContext } from '../../plan/plan.js';

/**
 * Entries straight to each node's own address and port (no balancer). With
 * `route.transport: websocket` each entry is the node's wss://<API host:port>/OctopusComms.
 */
export function directEntries(ctx: RouteContext): RouteEnvironment {
  const isWebSocket = ctx.scenario.route.transport === 'websocket';
  return {
    entries: ctx.nodes.map((n) => serverEntry(
      isWebSocket ? `wss://${new URL(n.apiUrl).host}${WEBSOCKET_PATH}` : `https://${n.pollingHost}:${n.pollingPort}`,
      ctx.serverThumbprint,
      n.name,
    )),
    entryNodes: ctx.nodes.map((_, i) => i),
    registrationUrls: registrationUrls(ctx.scenario, ctx.nodes, null),
    balancer: null,
    stop: async () => undefined,
  };
}

/** One entry per node at the node's own polling address (or its API port for wss://, always a free port on loopback). */
export function directPlanEntries(ctx: RoutePlanContext): PlanEntry[] {
  const isWebSocket = ctx.scenario.route.transport === 'websocket';
  return ctx.nodeNames.map((name, i) => {
    const host = ctx.nodeHosts[i]!;
    return { address: isWebSocket ? planAddress('wss', host, 0, WEBSOCKET_PATH) : planAddress('https', host, ctx.nodePorts[i]!), reaches: [name] };
  });
}

export const directRoute = {
  kind: 'direct',
  summary: 'a unique address per node, same port (127.0.0.11:10943, 127.0.0.12:10943, ...): one server entry per node',
  balanced: false,
  planEntries: directPlanEntries,
  build: async (ctx) => directEntries(ctx),
  diagnosis: {},
} satisfies RouteDefinition;
