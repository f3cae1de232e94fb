import { SniRouterSimulator } from '../../network/sni-router-simulator.js';
import { startRealBalancer } from '../../network/real/real-balancer.js';
import { realL7Spec, realSniSpec } from '../../network/real/real-balancer-spec.js';
import { SNI_DEFAULTS } from '../../scenario/defaults.js';
import type { SniSettings } from '../../scenario/sni-settings.js';
import { serverEntry } from '../../tentacle/server-entry.js';
import { balancerAddress } from '../../plan/addressing.js';
import { planAddress, registrationUrls, type MeasuredRun, type RouteDefinition } from './route.js';

/**
 * Port 443 only, routed by SNI: one address and port, one host name per node
 * (polling1.example.test, polling2.example.test, ... as the Octopus Helm chart's polling0.,
 * polling1. ingress names). A TCP proxy reads the TLS ClientHello's server name and forwards
 * the untouched TLS stream to that node's polling port, so the node's certificate reaches
 * the tentacle. The fleet resolves every name to the router's loopback address itself
 * (ServerEntry.connectHost) and sends the name as the TLS server name.
 *
 * Carried by pollfleet's SNI router simulator (src/network/sni-router-simulator.ts), real
 * HAProxy (mode tcp, tcp-request inspect-delay, req.ssl_sni) or real nginx (stream,
 * ssl_preread, a map on $ssl_preread_server_name). The classic mistakes are settings:
 * `sni.misroute` (a name mapped to the wrong node), `sni.missing` (a name the router does not
 * know), `sni.mode: http` (an HTTP-mode reverse proxy terminating TLS on 443).
 *
 * Octopus Cloud's shape is `sni.layout: one-name` (or `route.preset: octopus-cloud`): one name
 * (polling.<instance>.octopus.app), one port (443), every node behind it, round robin -- it
 * needs multi-node polling (a shared queue), like any single balanced address.
 */

function list(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function sniOf(r: MeasuredRun): SniSettings | null {
  const v = (r.scenario as { route?: { sni?: SniSettings | null } } | null)?.route?.sni;
  return v && Array.isArray(v.routes) && Array.isArray(v.names) ? v : null;
}

/** `node1: 40 polls, 12 requests collected`. */
function work(r: MeasuredRun, node: string): string {
  const n = r.nodes.find((x) => x.name === node);
  if (!n) return `${node}: no figures`;
  return `${node}: polled by ${n.polledBy ?? 0}/${r.summary.tentacles} tentacles, ${n.polls ?? 0} polls, ${n.requests?.collected ?? 0} requests collected`;
}

export const TLS_TERMINATED_ON_443 = 'TLS terminated on 443: SNI passthrough needed';

/** The sentences of sni-passthrough: the HTTP-mode proxy, each misrouted and each missing name, and Octopus Cloud's one name. */
function coverage(r: MeasuredRun, generic: { neverPolled: string[]; partlyPolled: string[] }): string[] {
  const sni = sniOf(r);
  if (!sni) return [...generic.neverPolled, ...generic.partlyPolled];
  const T = r.summary.tentacles;
  if (sni.mode === 'http') {
    // with refused handshakes counted, tlsOffload below already said it
    if ((r.summary.errors['tls.thumbprint-mismatch'] ?? 0) > 0) return [];
    return [
      `${TLS_TERMINATED_ON_443} -- the proxy on 443 is an HTTP-mode reverse proxy: it ends TLS with its own certificate, so the tentacle refuses it (thumbprint check) ` +
        'and no node is ever polled; make it a TCP proxy that forwards the TLS stream by server name (HAProxy mode tcp + req.ssl_sni, nginx stream + ssl_preread, ingress-nginx ssl-passthrough).',
    ];
  }
  const out: string[] = [];
  const explained = new Set<string>();
  for (const route of sni.routes) {
    const meant = sni.names.find((n) => n.name === route.name)?.node ?? null;
    if (meant === null) continue;
    if (route.nodes.length === 0) {
      explained.add(meant);
      out.push(
        `${route.name} is missing on the SNI router: it has no mapping for the name, so every connection for it is closed before TLS completes and ${meant} is not polled through it (${work(r, meant)}) ` +
          `-- add ${route.name} -> ${meant}'s polling port (10943) to the router (a node added without its name).`,
      );
    } else if (!route.nodes.includes(meant)) {
      const reached = route.nodes[0]!;
      explained.add(meant);
      out.push(
        `${route.name} is routed to ${reached} instead of ${meant}: the connections tentacles open for ${meant} reach ${reached}, which collected their work (${work(r, reached)}; ${work(r, meant)}), ` +
          `so work queued on ${meant} is never collected -- map ${route.name} to ${meant}'s polling port on the router.`,
      );
    }
  }
  if (sni.layout === 'one-name' && r.queue === 'per-node') {
    const uneven = r.nodes.filter((n) => (n.polledBy ?? 0) < T);
    if (uneven.length) {
      out.push(
        `${sni.names[0]?.name ?? 'The one name'} reaches every node round robin (Octopus Cloud's shape): each polling connection lands on one node, so with a queue per node ` +
          `${list(uneven.map((n) => `${n.name} (${n.polledBy ?? 0}/${T} tentacles)`))} ${uneven.length === 1 ? 'misses' : 'miss'} some tentacles -- this shape needs multi-node polling (a shared queue), or one name per node.`,
      );
      return out;
    }
  }
  // whatever the named mistakes do not explain keeps the generic sentences
  const rest = [...generic.neverPolled, ...generic.partlyPolled].filter((line) => ![...explained].some((n) => line.startsWith(`${n} `) || line.startsWith(`${n},`)));
  return [...out, ...rest];
}

export const sniPassthroughRoute = {
  kind: 'sni-passthrough',
  summary: 'one address on 443, one SNI host name per node (polling1.example.test, ...): a TCP proxy forwards the untouched TLS stream by server name',
  balanced: true,
  planEntries: (ctx) => {
    const sni = ctx.scenario.route.sni;
    if (!sni) return [];
    return sni.routes.map((r) => ({ address: `${planAddress('https', r.name, sni.port)} (${ctx.balancerHost})`, reaches: r.nodes.length ? r.nodes : ['nothing: no mapping on the router'] }));
  },
  build: async (ctx) => {
    const s = ctx.scenario;
    const sni = s.route.sni!;
    const host = balancerAddress(s);
    const byName = new Map(ctx.nodes.map((n) => [n.name, { name: n.name, host: n.pollingHost, port: n.pollingPort }]));
    const routes = sni.routes.map((r) => ({ name: r.name, targets: r.nodes.map((n) => byName.get(n)!).filter((t) => t !== undefined) }));
    let port: number;
    let label: string;
    let stop: () => Promise<void>;
    if (s.route.balancer === 'simulator') {
      const cert = sni.mode === 'http' ? await ctx.balancerCertificate() : null;
      const sim = new SniRouterSimulator({
        name: 'sni-router',
        host,
        port: sni.port,
        routes,
        mode: sni.mode,
        inspectDelayMs: SNI_DEFAULTS.inspectDelayMs,
        ...(cert ? { certPem: cert.certPem, keyPem: cert.keyPem } : {}),
      });
      port = await sim.start();
      label = `sni router simulator on ${host}:${port}${sni.mode === 'http' ? ' (HTTP mode: terminates TLS)' : ''}`;
      stop = () => sim.stop();
    } else if (sni.mode === 'http') {
      // the mistake on a real proxy: mode http with TLS terminated on 443, re-encrypted to the
      // nodes' polling ports (HTTP there is the node's /handshake page: registration's port check passes)
      const cert = await ctx.balancerCertificate();
      const apiTargets = ctx.nodes.map((n) => ({ name: n.name, host: n.pollingHost, port: n.pollingPort, tls: true }));
      const running = await startRealBalancer(realL7Spec({
        kind: s.route.balancer, workDir: `${ctx.workDir}/${s.route.balancer}`, listenHost: host, port: sni.port,
        certPem: cert.certPem, keyPem: cert.keyPem, targets: apiTargets, route: s.route,
      }));
      port = running.ports[0]!;
      label = `${s.route.balancer} (HTTP mode: terminates TLS) on ${host}:${port}`;
      stop = () => running.stop();
    } else {
      const running = await startRealBalancer(realSniSpec({
        kind: s.route.balancer,
        workDir: `${ctx.workDir}/${s.route.balancer}`,
        listenHost: host,
        port: sni.port,
        routes: routes.map((r) => ({ serverName: r.name, targets: r.targets })),
        inspectDelayMs: SNI_DEFAULTS.inspectDelayMs,
      }));
      port = running.ports[0]!;
      label = `${s.route.balancer} (mode tcp, SNI passthrough) on ${host}:${port}`;
      stop = () => running.stop();
    }
    const nodeNames = ctx.nodes.map((n) => n.name);
    return {
      entries: sni.names.map((n) => ({ ...serverEntry(`https://${n.name}:${port}`, ctx.serverThumbprint, n.node ?? 'sni-router'), connectHost: host })),
      entryNodes: sni.names.map((n) => (n.node === null ? -1 : nodeNames.indexOf(n.node))),
      registrationUrls: registrationUrls(s, ctx.nodes, null),
      balancer: label,
      stop,
    };
  },
  diagnosis: {
    coverage,
    // an HTTP-mode proxy on 443: name the mistake first, keep the thumbprints of the generic sentence
    tlsOffload: (r, generic) => (sniOf(r)?.mode === 'http'
      ? `${TLS_TERMINATED_ON_443} -- an HTTP-mode reverse proxy on 443 ends TLS with its own certificate; ${generic.replace(/^TLS offload in the path: /, '').replace(/ -- .*$/, '')}; ` +
        'make it a TCP proxy that forwards the TLS stream by server name (HAProxy mode tcp + req.ssl_sni, nginx stream + ssl_preread, ingress-nginx ssl-passthrough).'
      : generic),
  },
} satisfies RouteDefinition;
