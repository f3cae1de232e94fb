import type { RouteKind } from '../../scenario/resolve.js';
import { albRoute } from './alb.js';
import { directRoute } from './direct.js';
import { nlbUniquePortRoute } from './nlb-unique-port.js';
import { proxyRoute } from './proxy.js';
import type { RouteDefinition } from './route.js';
import { singleAddressRoute } from './single-address.js';
import { sniPassthroughRoute } from './sni-passthrough.js';
import { uniquePortRoute } from './unique-port.js';

/** Every route by kind. */
export const ROUTES: Record<RouteKind, RouteDefinition> = {
  direct: directRoute,
  'unique-port': uniquePortRoute,
  'single-address': singleAddressRoute,
  'nlb-unique-port': nlbUniquePortRoute,
  alb: albRoute,
  'sni-passthrough': sniPassthroughRoute,
  proxy: proxyRoute,
};

export function routeFor(kind: RouteKind): RouteDefinition {
  return ROUTES[kind];
}
