import { AlbSimulator } from '../../network/alb-simulator.js';
import { startRealBalancer } from '../../network/real/real-balancer.js';
import { realL7Spec } from '../../network/real/real-balancer-spec.js';
import { WEBSOCKET_PATH } from '../../halibut/websocket-frames.js';
import { serverEntry } from '../../tentacle/server-entry.js';
import { balancerAddress } from '../../plan/addressing.js';
import { planAddress, registrationUrls, type RouteDefinition } from './route.js';

/**
 * Polling and registration through a layer-7 balancer that terminates TLS with its own
 * certificate and speaks HTTP to the nodes' REST APIs: registration works, polling cannot
 * (the tentacle sees the balancer's certificate; raw polling bytes are not HTTP). With
 * `route.transport: websocket` tentacles poll wss://<balancer>/OctopusComms: the upgrade
 * passes the HTTP layer and is tunnelled to a node, but the thumbprint check still fails.
 */
export const albRoute = {
  kind: 'alb',
  summary: 'polling and registration through an HTTPS (layer 7) balancer that terminates TLS',
  balanced: true,
  planEntries: (ctx) => [{
    address: planAddress(ctx.scenario.route.transport === 'websocket' ? 'wss' : 'https', ctx.balancerHost, ctx.scenario.cluster.pollingPort, ctx.scenario.route.transport === 'websocket' ? WEBSOCKET_PATH : ''),
    reaches: ctx.nodeNames,
  }],
  build: async (ctx) => {
    const s = ctx.scenario;
    const host = balancerAddress(s);
    const cert = await ctx.balancerCertificate();
    const apiTargets = ctx.nodes.map((n) => {
      const u = new URL(n.apiUrl);
      const isHttps = u.protocol === 'https:';
      return { name: n.name, host: u.hostname, port: Number(u.port), tls: isHttps, protocol: isHttps ? 'https' as const : 'http' as const };
    });
    let port: number;
    let label: string;
    let stop: () => Promise<void>;
    if (s.route.balancer === 'simulator') {
      const a = s.route.alb;
      const alb = new AlbSimulator({
        name: 'alb',
        host,
        port: s.cluster.pollingPort,
        certPem: cert.certPem,
        keyPem: cert.keyPem,
        targets: apiTargets,
        healthCheck: { protocol: a.healthCheck.protocol === 'tcp' ? 'tcp' : apiTargets[0]?.tls ? 'https' : 'http', path: a.healthCheck.path, intervalMs: a.healthCheck.intervalMs, timeoutMs: a.healthCheck.timeoutMs, healthyThreshold: a.healthCheck.healthyThreshold, unhealthyThreshold: a.healthCheck.unhealthyThreshold },
        routing: a.routing,
        idleTimeoutMs: a.idleTimeoutMs,
        mutualTls: a.mtls,
      });
      port = await alb.start();
      label = `alb simulator on ${host}:${port}`;
      stop = () => alb.stop();
    } else {
      const running = await startRealBalancer(realL7Spec({
        kind: s.route.balancer,
        workDir: `${ctx.workDir}/${s.route.balancer}`,
        listenHost: host,
        port: s.cluster.pollingPort,
        certPem: cert.certPem,
        keyPem: cert.keyPem,
        targets: apiTargets,
        route: s.route,
      }));
      port = running.ports[0]!;
      label = `${s.route.balancer} (TLS termination, mode http) on ${host}:${port}`;
      stop = () => running.stop();
    }
    return {
      entries: [serverEntry(s.route.transport === 'websocket' ? `wss://${host}:${port}${WEBSOCKET_PATH}` : `https://${host}:${port}`, ctx.serverThumbprint, 'alb')],
      entryNodes: [-1],
      // route.registration: through the ALB (the default for this route) or straight to the nodes.
      registrationUrls: registrationUrls(s, ctx.nodes, `https://${host}:${port}`),
      balancer: label,
      stop,
    };
  },
  // One entry for every node: no per-node "add it as a server entry" sentence.
  diagnosis: { coverage: (_r, generic) => generic.neverPolled },
} satisfies RouteDefinition;
