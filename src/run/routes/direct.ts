import { serverEntry } from '../../tentacle/server-entry.js';
import type { RouteContext, RouteDefinition, RouteEnvironment } from './route.js';

/** Entries straight to each node's own address and port (no balancer). */
export function directEntries(ctx: RouteContext): RouteEnvironment {
  return {
    entries: ctx.nodes.map((n) => serverEntry(`https://${n.pollingHost}:${n.pollingPort}`, ctx.serverThumbprint, n.name)),
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
