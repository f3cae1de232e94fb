import { WEBSOCKET_PATH } from '../../halibut/websocket-frames.js';
import { serverEntry } from '../../tentacle/server-entry.js';
import type { RouteContext, RouteDefinition, RouteEnvironment } from './route.js';

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
    registrationUrls: ctx.nodes.map((n) => n.apiUrl),
    balancer: null,
    stop: async () => undefined,
  };
}

export const directRoute = {
  kind: 'direct',
  summary: 'a unique address per node, same port (127.0.0.11:10943, 127.0.0.12:10943, ...): one server entry per node',
  build: async (ctx) => directEntries(ctx),
} satisfies RouteDefinition;
