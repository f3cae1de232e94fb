import type { RouteKind } from '../../scenario/resolve.js';
import { directRoute } from './direct.js';
import type { RouteDefinition } from './route.js';
import { uniquePortRoute } from './unique-port.js';

/** Every route by kind. */
export const ROUTES: Partial<Record<RouteKind, RouteDefinition>> = {
  direct: directRoute,
  'unique-port': uniquePortRoute,
};

export function routeFor(kind: RouteKind): RouteDefinition | undefined {
  return ROUTES[kind];
}
