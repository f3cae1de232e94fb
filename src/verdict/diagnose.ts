import type { Result } from '../result/result.js';
import { harnessSaturation } from '../metrics/harness-monitor.js';
import { expiredMeaning } from './fault-story.js';
import { PROTOCOL_DEFAULTS } from '../scenario/defaults.js';

export type Measured = Omit<Result, 'thresholds' | 'verdict' | 'diagnosis'>;

/** `node1, node2 and node3`. */
export function list(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * What a route kind adds to the diagnosis (its definition in src/environment/routes/
 * exports one; the caller passes it in: verdict/ never imports the environment side).
 * Pure functions of the Result.
 */
export interface RouteDiagnosis {
  /**
   * The sentences about which nodes the tentacles reach, in place of the generic ones
   * (`generic.neverPolled`: a node nobody polled; `generic.partlyPolled`: one sentence per
   * node only some tentacles poll). Without it the generic ones stand.
   */
  coverage?(r: Measured, generic: { neverPolled: string[]; partlyPolled: string[] }): string[];
  /**
   * The idle timeout (ms) of the layer-4 balancer the route put in the path, from the
   * Result's scenario; undefined when it has none. Only routes with such a balancer give
   * this, and only then is an idle timeout (the route's or an idle-timeout fault's) checked
   * against the poll cycle.
   */
  balancerIdleTimeoutMs?(r: Measured): number | undefined;
  /** The TLS-offload sentence in the route's words (`generic`: the generic one, thumbprints included); without it the generic one stands. */
  tlsOffload?(r: Measured, generic: string): string;
  /**
   * Sentences about errors the route explains (route kind proxy: a refused CONNECT, a 407,
   * TLS inspection), put first, and the error kinds whose generic sentence they replace.
   */
  errors?(r: Measured): { sentences: string[]; replaces: string[] };
}

/**
 * One actionable sentence per problem observed, from the Result alone: what was seen, why
 * it happens, and what to change.
 */
export function diagnose(r: Measured, route: RouteDiagnosis = {}): string[] {
  const out: string[] = [];
  const s = r.summary;
  const errors = s.errors;
  const T = s.tentacles;

  const routeErrors = route.errors?.(r) ?? { sentences: [], replaces: [] };
  out.push(...routeErrors.sentences);
  const mismatches = errors['tls.thumbprint-mismatch'] ?? 0;
  if (mismatches && !routeErrors.replaces.includes('tls.thumbprint-mismatch')) {
    const ex = s.errorExampleData?.['tls.thumbprint-mismatch'];
    const [expected, presented] = ex?.expectedThumbprint && ex.presentedThumbprint ? [ex.expectedThumbprint, ex.presentedThumbprint] : [null, null];
    const generic =
      `TLS offload in the path: ${expected ? `expected thumbprint ${expected}, presented ${presented}` : 'the node presented an unexpected certificate'} ` +
      `(${mismatches} handshake${mismatches === 1 ? '' : 's'} refused) -- a device terminating TLS (load balancer, proxy) shows its own certificate; ` +
      'use a TCP pass-through listener (NLB TCP, HAProxy mode tcp) so the node\'s certificate reaches the tentacle.';
    out.push(route.tlsOffload ? route.tlsOffload(r, generic) : generic);
  }
  const http = errors['protocol.http-response'] ?? 0;
  if (http) {
    const status = String(s.errorExampleData?.['protocol.http-response']?.status ?? 400);
    out.push(
      `The balancer answered HTTP ${status} to the polling handshake (${http} time${http === 1 ? '' : 's'}) -- a layer-7 balancer speaks HTTP and cannot carry polling traffic; ` +
        'route port 10943 through a layer-4 (TCP) balancer or straight to each node.',
    );
  }
  const untrusted = errors['tls.untrusted'] ?? 0;
  if (untrusted) {
    out.push(
      subscriptionCapSentence(r, untrusted) ??
        `Nodes closed ${untrusted} connection${untrusted === 1 ? '' : 's'} right after the tentacle identified itself: the node does not trust the tentacle's certificate -- register the tentacle (its thumbprint) with the cluster.`,
    );
  }

  // The coverage sentences are about reach (server entries, balancing): they read a view in
  // which a tentacle connected to a node reached it, even when the node sent it nothing before
  // the run ended. Those pairs get their own sentence (not a configuration problem).
  const reach = reachView(r);
  const never = reach.summary.nodesNeverPolled;
  const neverPolled: string[] = [];
  if (never.length && !(mismatches || http)) {
    neverPolled.push(
      `${list(never)} never received a poll from any tentacle -- check that every tentacle lists ${never.length === 1 ? 'this node' : 'these nodes'} as a server entry and that the polling port is reachable through the network path.`,
    );
  }
  const partlyPolled: string[] = [];
  for (const n of reach.nodes) {
    if (never.includes(n.name) || n.polledBy === null || n.polledBy >= T) continue;
    const missing = T - n.polledBy;
    partlyPolled.push(
      `${n.name} was polled by ${n.polledBy} of ${T} tentacles: ${missing} tentacle${missing === 1 ? ' does' : 's do'} not poll ${n.name}` +
        `${n.requests?.expired ? `, so ${n.requests.expired} request${n.requests.expired === 1 ? '' : 's'} queued there for them expired` : ''} -- add ${n.name} as a server entry on every tentacle (Tentacle poll-server).`,
    );
  }
  out.push(...(route.coverage ? route.coverage(reach, { neverPolled, partlyPolled }) : [...neverPolled, ...partlyPolled]));
  const unanswered = connectedNotPolledSentence(r);
  if (unanswered) out.push(unanswered);

  // Pitfalls a fault kind shows (node-added), in its own words.
  for (const f of r.faults) if (f.diagnosis) out.push(f.diagnosis);

  const expired = s.requests?.expired ?? 0;
  if (expired) {
    const where = r.nodes.filter((n) => (n.requests?.expired ?? 0) > 0).map((n) => `${n.name}: ${n.requests!.expired}`);
    out.push(
      `${expired} request${expired === 1 ? '' : 's'} expired (${where.join(', ')}): not collected within the polling request queue timeout -- ${expiredMeaning()}.`,
    );
  }

  const refused = (errors['tcp.refused'] ?? 0) + (errors['tcp.unreachable'] ?? 0) + (errors['tcp.connect-timeout'] ?? 0) + (errors['dns.failed'] ?? 0);
  if (refused && !r.faults.length) {
    out.push(`${refused} connection attempt${refused === 1 ? '' : 's'} could not reach a node (refused, unreachable, timed out or not resolved) -- check addresses, ports and firewalls for the polling port.`);
  }
  const regFail = Object.entries(s.registrationMs.failures);
  if (regFail.length) {
    out.push(`Registration failed for ${regFail.map(([k, v]) => `${v} tentacle${v === 1 ? '' : 's'} (${k})`).join(', ')} -- check the API URL, the API key and that the REST API (80/443) is reachable.`);
  }
  const idle = idleTimeoutBelowPollCycle(r, route);
  if (idle) {
    const resets = errors['tcp.reset'] ?? 0;
    // route.nlb.onIdle (src/network/flow.ts): what the balancer does at expiry
    const onIdle = (r.scenario as { route?: { nlb?: { onIdle?: unknown } } } | null)?.route?.nlb?.onIdle;
    const what = onIdle === 'silent-drop'
      ? 'an idle polling connection is dropped silently (no RST, every later packet lost): the tentacle notices only when its receive timeout runs out'
      : onIdle === 'reset'
        ? 'an idle polling connection is reset at expiry (RST both ways)'
        : "an idle polling connection leaves the balancer's table silently and the next message is answered with a reset";
    out.push(
      `The balancer's idle timeout (${idle.idleS} s) is shorter than the poll cycle (pollingQueueWait ${idle.cycleS} s): ${what}` +
        `${resets ? ` (${resets} connection${resets === 1 ? '' : 's'} reset)` : ''} -- set the idle timeout well above the poll cycle (AWS NLB: 350 s default, up to 6000 s; Azure: 4 min default, up to 100 min).`,
    );
  }
  const saturated = r.harness ? harnessSaturation(r.harness.fleet) : [];
  if (saturated.length) {
    out.push(
      `Harness saturated: ${list(saturated)}: its timings cannot be trusted -- use fewer tentacles per machine, or shards (a threshold on harness.loopDelayMs.p99 turns this into a failure).`,
    );
  }
  if (r.interrupted) out.push('The run was interrupted: figures cover only what ran.');
  return out;
}

/** A balancer idle timeout (the route's, or one set by an idle-timeout fault) below the node's long-poll wait, from the Result's scenario. */
function idleTimeoutBelowPollCycle(r: Measured, route: RouteDiagnosis): { idleS: number; cycleS: number } | null {
  if (!route.balancerIdleTimeoutMs) return null;
  const sc = r.scenario as { protocol?: { pollingQueueWaitMs?: number }; faults?: { action?: string; idleTimeoutMs?: number }[] } | null;
  const cycle = sc?.protocol?.pollingQueueWaitMs;
  if (typeof cycle !== 'number') return null;
  const idles = [route.balancerIdleTimeoutMs(r), ...(sc?.faults ?? []).filter((f) => f.action === 'idle-timeout').map((f) => f.idleTimeoutMs)]
    .filter((v): v is number => typeof v === 'number' && v > 0);
  if (!idles.length) return null;
  const idle = Math.min(...idles);
  return idle < cycle ? { idleS: idle / 1000, cycleS: cycle / 1000 } : null;
}

/** Tentacles that held a connection to a node: its final count or its peak, whichever is higher (null when not measured). */
function connectedTo(n: Measured['nodes'][number]): number | null {
  if (n.connectedTentacles === null && n.maxConnectedTentacles === null) return null;
  return Math.max(n.connectedTentacles ?? 0, n.maxConnectedTentacles ?? 0);
}

/**
 * The Result with each node's polledBy raised to the tentacles connected to it (at most the
 * fleet) and nodesNeverPolled recomputed from that: "reached", for the sentences about reach.
 */
function reachView(r: Measured): Measured {
  const T = r.summary.tentacles;
  const nodes = r.nodes.map((n) => {
    const c = connectedTo(n);
    return n.polledBy === null || c === null || c <= n.polledBy ? n : { ...n, polledBy: Math.min(T, c) };
  });
  return { ...r, nodes, summary: { ...r.summary, nodesNeverPolled: nodes.filter((n) => n.polledBy === 0).map((n) => n.name) } };
}

/**
 * Tentacles connected to a node that never sent them a message: with no work queued a node
 * answers a waiting connection only when its polling queue wait runs out (Halibut's
 * PollingQueueWaitTimeout: PROTOCOL_DEFAULTS.pollingQueueWaitMs), so a run (or a late connection) shorter than
 * that ends before the first message. Not a configuration problem; the verdict still fails,
 * since polling was not shown.
 */
function connectedNotPolledSentence(r: Measured): string | null {
  const T = r.summary.tentacles;
  const parts: string[] = [];
  for (const n of r.nodes) {
    const c = connectedTo(n);
    if (n.polledBy === null || c === null) continue;
    const waiting = Math.min(T, c) - n.polledBy;
    if (waiting <= 0) continue;
    parts.push(`${n.name}: ${waiting}`);
  }
  if (!parts.length) return null;
  // An external node's setting is not visible from the tentacle side: name the real default.
  const waitMs = r.target === 'external' ? null : scenarioNumber(r, 'protocol', 'pollingQueueWaitMs');
  const wait = waitMs !== null ? `${waitMs / 1000} s here` : `${PROTOCOL_DEFAULTS.pollingQueueWaitMs / 1000} s by default`;
  return (
    `Tentacles were connected to a node but got no message from it before the run ended (${parts.join(', ')}): ` +
    `with no work queued a node answers a waiting connection only when its polling queue wait runs out (${wait}) -- ` +
    `not a server-entry problem; run longer than the polling queue wait after the ramp-up, or queue work to the tentacles.`
  );
}

/** A number the Result's scenario holds at `path`, if it is one. */
function scenarioNumber(r: Measured, ...path: string[]): number | null {
  let v: unknown = r.scenario;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' ? v : null;
}

/**
 * Connections closed after `MX-SUBSCRIBER` without a byte are an untrusted certificate or a
 * node's per-subscription connection cap (the same on the wire). The cap is named when the
 * nodes counted connections over it (embedded nodes), or when only some connections of each
 * subscription were refused: more than one connection per tentacle per node and yet every
 * node served every tentacle (an untrusted certificate refuses them all). Otherwise null.
 */
function subscriptionCapSentence(r: Measured, closed: number): string | null {
  const T = r.summary.tentacles;
  const perConn = scenarioNumber(r, 'fleet', 'pollingConnectionCount');
  const cap = scenarioNumber(r, 'cluster', 'maxConnectionsPerSubscription');
  const overCap = r.nodes.filter((n) => (n.connectionsOverSubscriptionCap ?? 0) > 0);
  const counted = overCap.reduce((a, n) => a + (n.connectionsOverSubscriptionCap ?? 0), 0);
  const everyNodeServedAll = T > 0 && r.nodes.length > 0 && r.nodes.every((n) => n.polledBy !== null && n.polledBy >= T);
  if (!counted && !(perConn !== null && perConn > 1 && everyNodeServedAll)) return null;
  const head =
    `Nodes closed ${closed} connection${closed === 1 ? '' : 's'} right after the tentacle identified itself: ` +
    "untrusted certificate OR over the node's per-subscription connection limit -- ";
  const limit = cap !== null ? `${cap} per subscription per node` : 'N per subscription per node';
  const opened = perConn !== null ? `the fleet opens ${perConn} per tentacle per node (fleet.pollingConnectionCount)` : 'the fleet opens more per tentacle per node (fleet.pollingConnectionCount)';
  const evidence = counted
    ? `the limit: the nodes refused ${counted} connection${counted === 1 ? '' : 's'} over their cap of ${limit} ` +
      `(${overCap.map((n) => `${n.name} ${n.connectionsOverSubscriptionCap}`).join(', ')})${everyNodeServedAll ? ' while serving every tentacle' : ''}`
    : `the limit: every node still served every tentacle, so only connections beyond ${limit} were refused, not every connection of a subscription as an untrusted certificate would`;
  const fix = cap !== null ? `lower fleet.pollingConnectionCount to ${cap} or raise the node's limit` : "lower fleet.pollingConnectionCount or raise the node's limit";
  return `${head}${evidence}; ${opened} -- ${fix}.`;
}
