import type { HealthCheckSettings, Scenario } from '../../scenario/resolve.js';
import { REAL_BALANCER_DEFAULTS } from '../../scenario/defaults.js';
import type { TargetSpec } from '../target-group.js';
import type {
  BalancerHealthCheck,
  BalancerTarget,
  HttpBalancerTarget,
  RealBalancerKind,
  RealBalancerSpec,
  RealFrontend,
} from './real-balancer-types.js';

/**
 * The spec of a real HAProxy / nginx for a route, from the scenario: frontends and targets
 * from the route, and the route's balancer settings (src/scenario/real-balancer-settings.ts
 * says which ones a real balancer carries and rejects the rest before anything starts).
 * Pure; startRealBalancer takes the result.
 */

export interface RealL4SpecInput {
  kind: RealBalancerKind;
  workDir: string;
  listenHost: string;
  /** single: one listener for every node; unique-port: one listener per node (basePort + i). */
  layout: 'single' | 'unique-port';
  /** 0 = free ports. */
  basePort: number;
  /** The nodes' polling ports; a target's healthCheck says where an HTTP check goes (the node's REST API). */
  targets: TargetSpec[];
  route: Scenario['route'];
}

export interface RealL7SpecInput {
  kind: RealBalancerKind;
  workDir: string;
  listenHost: string;
  port: number;
  certPem: string;
  keyPem: string;
  targets: HttpBalancerTarget[];
  route: Scenario['route'];
}

function healthCheck(hc: HealthCheckSettings, onUnhealthy: 'reset' | 'drain' | null): BalancerHealthCheck {
  return {
    intervalMs: hc.intervalMs,
    timeoutMs: hc.timeoutMs,
    healthyThreshold: hc.healthyThreshold,
    unhealthyThreshold: hc.unhealthyThreshold,
    protocol: hc.protocol,
    ...(hc.protocol === 'tcp' ? {} : { path: hc.path }),
    ...(onUnhealthy ? { onUnhealthy: onUnhealthy === 'reset' ? 'reset' as const : 'keep' as const } : {}),
  };
}

/** Layer 4 (single-address, nlb-unique-port): TCP pass-through with route.nlb's idle timeout, stickiness and health check. */
export function realL4Spec(i: RealL4SpecInput): RealBalancerSpec {
  const nlb = i.route.nlb;
  const set = i.route.realBalancer;
  // onUnhealthy alone still asks for health checks (nothing else turns a target unhealthy).
  const hc = set.healthCheck ?? (set.onUnhealthy !== null ? nlb.healthCheck : null);
  const isHttpCheck = hc !== null && hc.protocol !== 'tcp';
  const targets: BalancerTarget[] = i.targets.map((t) => ({
    name: t.name,
    host: t.host,
    port: t.port,
    ...(isHttpCheck && t.healthCheck?.host && t.healthCheck.port
      ? { check: { host: t.healthCheck.host, port: t.healthCheck.port, tls: t.healthCheck.protocol === 'https' } }
      : {}),
  }));
  const balance = nlb.stickiness === 'source-ip' ? ({ balance: 'source' } as const) : {};
  const frontends: RealFrontend[] =
    i.layout === 'single'
      ? [{ mode: 'tcp', name: 'polling', port: i.basePort, targets, ...balance }]
      : targets.map((t, n) => ({ mode: 'tcp' as const, name: `polling-${t.name}`, port: i.basePort === 0 ? 0 : i.basePort + n, targets: [t] }));
  const idle = set.idleTimeoutMs;
  return {
    kind: i.kind,
    workDir: i.workDir,
    listenHost: i.listenHost,
    frontends,
    timeouts: {
      connectMs: REAL_BALANCER_DEFAULTS.connectTimeoutMs,
      clientMs: idle ?? REAL_BALANCER_DEFAULTS.clientTimeoutMs,
      serverMs: idle ?? REAL_BALANCER_DEFAULTS.serverTimeoutMs,
      ...(idle !== null ? { tunnelMs: idle } : {}),
    },
    ...(hc ? { healthCheck: healthCheck(hc, set.onUnhealthy ?? nlb.onUnhealthy) } : {}),
  };
}

/** Layer 7 (alb): TLS termination with route.alb's idle timeout, routing and health check. */
export function realL7Spec(i: RealL7SpecInput): RealBalancerSpec {
  const alb = i.route.alb;
  const hc = i.route.realBalancer.healthCheck;
  return {
    kind: i.kind,
    workDir: i.workDir,
    listenHost: i.listenHost,
    frontends: [{
      mode: 'http-tls',
      name: 'alb',
      port: i.port,
      certPem: i.certPem,
      keyPem: i.keyPem,
      targets: i.targets.map(({ name, host, port, tls }) => ({ name, host, port, ...(tls !== undefined ? { tls } : {}) })),
      ...(alb.routing === 'least-outstanding' ? { balance: 'leastconn' as const } : {}),
    }],
    timeouts: { connectMs: REAL_BALANCER_DEFAULTS.connectTimeoutMs, clientMs: alb.idleTimeoutMs, serverMs: alb.idleTimeoutMs },
    ...(hc ? { healthCheck: healthCheck(hc, null) } : {}),
  };
}

export interface RealSniSpecInput {
  kind: RealBalancerKind;
  workDir: string;
  listenHost: string;
  /** 0 = a free port. */
  port: number;
  /** Server name -> the nodes' polling ports it forwards to (empty: no mapping). */
  routes: { serverName: string; targets: BalancerTarget[] }[];
  inspectDelayMs: number;
}

/** SNI passthrough (sni-passthrough): one port, the backend chosen by the ClientHello's server name, TLS untouched. */
export function realSniSpec(i: RealSniSpecInput): RealBalancerSpec {
  return {
    kind: i.kind,
    workDir: i.workDir,
    listenHost: i.listenHost,
    frontends: [{ mode: 'sni', name: 'sni', port: i.port, routes: i.routes, inspectDelayMs: i.inspectDelayMs }],
    timeouts: {
      connectMs: REAL_BALANCER_DEFAULTS.connectTimeoutMs,
      clientMs: REAL_BALANCER_DEFAULTS.clientTimeoutMs,
      serverMs: REAL_BALANCER_DEFAULTS.serverTimeoutMs,
      tunnelMs: REAL_BALANCER_DEFAULTS.tunnelTimeoutMs,
    },
  };
}
