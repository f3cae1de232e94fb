import { NlbSimulator } from '../../network/nlb-simulator.js';
import type { NlbListenerOptions } from '../../network/nlb-simulator.js';
import type { TargetGroupOptions, TargetSpec } from '../../network/target-group.js';
import { uniquePortLayout } from '../../network/unique-port-layout.js';
import { startRealBalancer } from '../../network/real/real-balancer.js';
import { realL4Spec } from '../../network/real/real-balancer-spec.js';
import { balancerAddress } from '../../plan/addressing.js';
import type { MeasuredRun, RouteContext } from './route.js';

/** The nodes as layer-4 targets: traffic to the polling port, health checks as the scenario says (HTTP ones to the REST API's ping). */
export function pollingTargets(ctx: RouteContext): TargetSpec[] {
  const hc = ctx.scenario.route.nlb.healthCheck;
  return ctx.nodes.map((n) => {
    const api = new URL(n.apiUrl);
    return {
      name: n.name,
      host: n.pollingHost,
      port: n.pollingPort,
      healthCheck: hc.protocol === 'tcp' ? undefined : { protocol: api.protocol === 'https:' ? 'https' : 'http', host: api.hostname, port: Number(api.port), path: hc.path },
    };
  });
}

export interface StartedL4 {
  host: string;
  ports: number[];
  label: string;
  stop(): Promise<void>;
  /** The simulator itself (for faults); null for real balancers. */
  simulator: NlbSimulator | null;
}

/**
 * A layer-4 balancer in front of the nodes: pollfleet's NLB simulator or real HAProxy /
 * nginx in TCP mode. `layout` single: one listener for every node; unique-port: one
 * listener per node.
 */
export async function startL4(ctx: RouteContext, layout: 'single' | 'unique-port'): Promise<StartedL4> {
  const s = ctx.scenario;
  const host = balancerAddress(s);
  const basePort = s.cluster.pollingPort;
  const targets = pollingTargets(ctx);
  if (s.route.balancer === 'simulator') {
    const nlb = s.route.nlb;
    const shared = {
      healthCheck: { protocol: nlb.healthCheck.protocol, path: nlb.healthCheck.path, intervalMs: nlb.healthCheck.intervalMs, timeoutMs: nlb.healthCheck.timeoutMs, healthyThreshold: nlb.healthCheck.healthyThreshold, unhealthyThreshold: nlb.healthCheck.unhealthyThreshold },
      deregistrationDelayMs: nlb.deregistrationDelayMs,
      deregistrationTermination: nlb.deregistrationTermination,
      unhealthyTermination: nlb.onUnhealthy,
      stickiness: nlb.stickiness,
    } satisfies Omit<TargetGroupOptions, 'name' | 'targets'>;
    let listeners: NlbListenerOptions[];
    let targetGroups: TargetGroupOptions[];
    if (layout === 'single') {
      listeners = [{ port: basePort, targetGroup: 'nodes' }];
      targetGroups = [{ ...shared, name: 'nodes', targets }];
    } else {
      ({ listeners, targetGroups } = uniquePortLayout(basePort, targets, shared));
    }
    if (nlb.tlsListener) {
      const cert = await ctx.balancerCertificate();
      listeners = listeners.map((l) => ({ ...l, tls: { certPem: cert.certPem, keyPem: cert.keyPem } }));
    }
    const sim = new NlbSimulator({ name: 'nlb', host, listeners, targetGroups, idleTimeoutMs: nlb.idleTimeoutMs, onIdle: nlb.onIdle, hashSeed: nlb.hashSeed });
    const ports = await sim.start();
    return { host, ports, label: `nlb simulator on ${host}:${ports.join(',')}${nlb.tlsListener ? ' (TLS listener)' : ''}`, stop: () => sim.stop(), simulator: sim };
  }
  const running = await startRealBalancer(realL4Spec({
    kind: s.route.balancer,
    workDir: `${ctx.workDir}/${s.route.balancer}`,
    listenHost: host,
    layout,
    basePort,
    targets,
    route: s.route,
  }));
  return { host, ports: running.ports, label: `${s.route.balancer} (mode tcp) on ${host}:${running.ports.join(',')}`, stop: () => running.stop(), simulator: null };
}

/** `route.nlb.idleTimeoutMs` as the Result's scenario recorded it (the layer-4 routes' diagnosis hint). */
export function nlbIdleTimeoutMs(r: MeasuredRun): number | undefined {
  const v = (r.scenario as { route?: { nlb?: { idleTimeoutMs?: unknown } } } | null)?.route?.nlb?.idleTimeoutMs;
  return typeof v === 'number' ? v : undefined;
}
