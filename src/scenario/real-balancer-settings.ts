import type { ResolveProblem } from './resolve-problem.js';
import type { ScenarioParsed } from './schema.js';

export interface HealthCheckSettings {
  protocol: 'tcp' | 'http' | 'https';
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface RealBalancerSettings {
  idleTimeoutMs: number | null;
  healthCheck: HealthCheckSettings | null;
  onUnhealthy: 'reset' | 'drain' | null;
}

/**
 * Which of a route's balancer settings a real HAProxy / nginx can carry (route.balancer
 * haproxy or nginx), and the clear "no" for the ones it cannot. Every setting a scenario
 * writes works or is rejected; none is ignored:
 *
 * | setting                           | haproxy                                | nginx (open source)          |
 * |-----------------------------------|----------------------------------------|------------------------------|
 * | nlb/alb.idleTimeout               | timeout client/server/tunnel           | proxy_timeout (stream), proxy_read/send_timeout (http) |
 * | nlb.stickiness: source-ip         | balance source                         | hash $remote_addr consistent |
 * | alb.routing: least-outstanding    | balance leastconn                      | least_conn                   |
 * | nlb/alb.healthCheck               | check inter/rise/fall, timeout check, option httpchk (http checks of the REST API via addr/port) | rejected: no active health checks |
 * | nlb.onUnhealthy                   | reset: on-marked-down shutdown-sessions | rejected (no health checks)  |
 * | nlb.hashSeed, nlb.tlsListener, nlb.deregistrationDelay/-Termination, nlb.onIdle/tcpReset, alb.mtls | rejected: simulator only | rejected: simulator only |
 */

/** Routes that go through route.nlb's settings, and the one through route.alb's. */
const L4_ROUTES = ['single-address', 'nlb-unique-port'];
const L7_ROUTES = ['alb'];

/** Every setting of the route's balancer section a real balancer cannot carry, with its path. */
export function realBalancerProblems(p: ScenarioParsed, routeKind: string): ResolveProblem[] {
  const balancer = p.route?.balancer;
  if (balancer !== 'haproxy' && balancer !== 'nginx') return [];
  const out: ResolveProblem[] = [];
  const simulatorOnly = (path: string, what: string) =>
    out.push({ path, message: `${what} only with balancer: simulator; ${balancer} cannot do it (remove the setting, or use the simulator)` });
  if (L4_ROUTES.includes(routeKind)) {
    const nlb = p.route?.nlb;
    if (nlb?.hashSeed !== undefined) simulatorOnly('route.nlb.hashSeed', 'a seeded flow hash works');
    if (nlb?.tlsListener !== undefined) simulatorOnly('route.nlb.tlsListener', 'a TLS listener on the layer-4 balancer is available');
    if (nlb?.deregistrationDelay !== undefined) simulatorOnly('route.nlb.deregistrationDelay', 'deregistration (and its delay) works');
    if (nlb?.deregistrationTermination !== undefined) simulatorOnly('route.nlb.deregistrationTermination', 'deregistration (and its termination) works');
    if (nlb?.onIdle !== undefined) simulatorOnly('route.nlb.onIdle', 'a chosen idle-expiry behaviour (silent drop, RST) works');
    if (nlb?.tcpReset !== undefined) simulatorOnly('route.nlb.tcpReset', 'a chosen idle-expiry behaviour (silent drop, RST) works');
    if (balancer === 'nginx') {
      if (nlb?.healthCheck !== undefined) {
        out.push({ path: 'route.nlb.healthCheck', message: 'open-source nginx has no active health checks (NGINX Plus has); remove healthCheck, or use balancer: haproxy or simulator' });
      }
      if (nlb?.onUnhealthy !== undefined) {
        out.push({ path: 'route.nlb.onUnhealthy', message: 'open-source nginx has no health checks, so nothing turns a target unhealthy; remove onUnhealthy, or use balancer: haproxy or simulator' });
      }
    }
  }
  if (L7_ROUTES.includes(routeKind)) {
    const alb = p.route?.alb;
    if (alb?.mtls !== undefined && alb.mtls !== 'off') simulatorOnly('route.alb.mtls', 'mutual TLS passthrough works');
    if (balancer === 'nginx' && alb?.healthCheck !== undefined) {
      out.push({ path: 'route.alb.healthCheck', message: 'open-source nginx has no active health checks (NGINX Plus has); remove healthCheck, or use balancer: haproxy or simulator' });
    }
  }
  return out;
}

/**
 * The settings a real balancer applies: those of the route's section the scenario file sets
 * (resolved, defaults filled in within a set health check); null where it sets none.
 */
export function realBalancerSettings(
  p: ScenarioParsed,
  routeKind: string,
  resolved: { nlb: { idleTimeoutMs: number; healthCheck: HealthCheckSettings; onUnhealthy: 'reset' | 'drain' }; alb: { idleTimeoutMs: number; healthCheck: HealthCheckSettings } },
): RealBalancerSettings {
  if (L4_ROUTES.includes(routeKind)) {
    const nlb = p.route?.nlb;
    return {
      idleTimeoutMs: nlb?.idleTimeout !== undefined ? resolved.nlb.idleTimeoutMs : null,
      healthCheck: nlb?.healthCheck !== undefined ? resolved.nlb.healthCheck : null,
      onUnhealthy: nlb?.onUnhealthy !== undefined ? resolved.nlb.onUnhealthy : null,
    };
  }
  if (L7_ROUTES.includes(routeKind)) {
    const alb = p.route?.alb;
    return {
      idleTimeoutMs: alb?.idleTimeout !== undefined ? resolved.alb.idleTimeoutMs : null,
      healthCheck: alb?.healthCheck !== undefined ? resolved.alb.healthCheck : null,
      onUnhealthy: null,
    };
  }
  return { idleTimeoutMs: null, healthCheck: null, onUnhealthy: null };
}
