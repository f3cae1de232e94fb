import { directEntries, directPlanEntries } from './direct.js';
import type { RouteDefinition } from './route.js';

/** One address, one port per node (10943, 10944, ...), no balancer: one server entry per node. */
export const uniquePortRoute = {
  kind: 'unique-port',
  summary: 'one address, a unique port per node (127.0.0.1:10943, :10944, ...): one server entry per node',
  balanced: false,
  planEntries: directPlanEntries,
  build: async (ctx) => directEntries(ctx),
  diagnosis: {},
} satisfies RouteDefinition;
