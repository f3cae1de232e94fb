import { EXTERNAL_SAFETY_DEFAULTS, RUN_DEFAULTS } from '../scenario/defaults.js';
import type { BalancerKind, QueueKind, RouteKind, Scenario, TransportKind } from '../scenario/resolve.js';
import { balancerAddress, nodeSpecs } from './addressing.js';
import { faultDefinition } from '../faults/fault-registry.js';
import { faultNode } from '../faults/fault-spec.js';
import { fleetWorkerCount } from './worker-count.js';

/** One node of the plan: where it listens for polling (embedded: port 0 = a free port chosen at start). */
export interface PlanNode {
  name: string;
  /** `host:port` as it will be listened on or was written (external). */
  address: string;
  /** Expected server thumbprint (external; embedded: the cluster's own, made at start). */
  thumbprint: string | null;
  /** The node's own REST API (external, when given), else null. */
  apiUrl: string | null;
}

/**
 * One server entry every tentacle gets (a Tentacle.config TrustedOctopusServers item), as
 * far as it is known before anything starts. A balanced route's address is the
 * balancer's; its port is known only after the balancer starts when the scenario asks
 * for a free one (`<free port>`).
 */
export interface PlanEntry {
  address: string;
  /** The node(s) this entry reaches: one for a per-node entry, all of them through a balancer. */
  reaches: string[];
}

/** Tentacles `from`..`to` (0-based, inclusive) poll only these nodes (`fleet.overrides`). */
export interface PlanOverride {
  from: number;
  to: number;
  nodes: string[];
  /** How many server entries those tentacles have. */
  entries: number;
}

export interface PlanFault {
  name: string;
  kind: string;
  target: string;
  /** From the start of the steady phase. */
  atMs: number;
  forMs: number | null;
}

/** Exactly what a run opens, registers and does, before it does any of it. Pure data, no secrets. */
export interface Plan {
  scenario: string;
  target: 'embedded' | 'external';
  route: {
    kind: RouteKind;
    /** The route definition's one line. */
    summary: string;
    /** Who carries a balanced route (null when nothing stands between tentacles and nodes). */
    balancer: BalancerKind | null;
    transport: TransportKind;
    /** route.preset and the settings it set (the scenario's own ones win), or null. */
    preset: { name: string; set: string[] } | null;
  };
  queue: QueueKind;
  nodes: PlanNode[];
  /** The server entries of every tentacle, before `fleet.overrides`. */
  entries: PlanEntry[];
  overrides: PlanOverride[];
  fleet: {
    /** `fleet.profile`: polling Tentacles or Kubernetes agents. */
    profile: 'tentacle' | 'kubernetes-agent';
    tentacles: number;
    /** Polling connections per server entry (`fleet.pollingConnectionCount`). */
    connectionsPerEntry: number;
    rampUpMs: number;
    /** Worker threads the tentacles run in (`fleet.workers`, `auto` sized for this machine); 1 = the main thread. */
    workers: number;
  };
  /** The slice of the fleet this process runs (`--shard i/n`); null: the whole fleet. */
  shard: { index: number; count: number; firstTentacle: number; tentacles: number; totalTentacles: number } | null;
  /** Duration of the measured phase after ramp-up. */
  durationMs: number;
  /** After ramp-up, how long the last tentacles get before the steady phase counts. */
  settleMs: number;
  identities: {
    /** Certificates used (generated: one per tentacle; given: one, shared by every tentacle). */
    count: number;
    source: 'generated' | 'given';
    /** Subscription ids: always one fresh subscription per tentacle, also when one identity is given. */
    subscriptions: number;
    /** The file of a given identity (a path, never its content). */
    file: string | null;
  };
  registration:
    | { kind: 'embedded'; through: 'balancer' | 'nodes' | 'proxy'; count: number }
    | { kind: 'synthetic'; count: number; apiUrl: string; space: string | null; ratePerSecond: number; namePrefix: string; environment: string; roles: string[]; ledgerFile: string; steps: string[]; apiKeyFrom: string }
    | { kind: 'none' };
  faults: PlanFault[];
  /** How the Recorder tells pairs apart: by the node that served a poll (embedded) or by the entry the tentacle polled (external). */
  pairSource: 'node' | 'tentacle';
  /** For each node: the nodes whose queue it hands out (per-node: itself; shared / redis: all). */
  queueGroups: number[][];
  /** External targets: the safety limits and how this run stands against them. */
  safety: { allowLoad: boolean; problems: string[]; limits: typeof EXTERNAL_SAFETY_DEFAULTS } | null;
}

/** What a plan knows of a route before it starts: the scenario, node names, hosts and polling ports (0 = free), the balancer's address. */
export interface RoutePlanContext {
  scenario: Scenario;
  nodeNames: string[];
  nodeHosts: string[];
  nodePorts: number[];
  balancerHost: string;
}

/** What a route kind tells the plan; its definition (src/environment/routes/<kind>.ts) implements it. */
export interface RoutePlanner {
  /** One line for --help and plans. */
  summary: string;
  /** A balancer stands in the path (simulator, HAProxy or nginx, as `route.balancer` says). */
  balanced: boolean;
  /** The server entries a tentacle gets, as far as they are known before the route starts (pure). */
  planEntries(ctx: RoutePlanContext): PlanEntry[];
}

/**
 * What planScenario reads besides the scenario. The environment layer supplies it
 * (src/environment/plan-sources.ts): plan/ sits below environment/ and does not import it.
 */
export interface PlanSources {
  routes: Record<RouteKind, RoutePlanner>;
  /** The safety limits an external run exceeds (empty: none, or lifted). */
  externalSafetyProblems(s: Scenario): string[];
  /** The REST path synthetic registration reads the server certificate from. */
  serverCertificatePath: string;
}

const FREE_PORT = '<free port>';

function portText(p: number): string {
  return p === 0 ? FREE_PORT : String(p);
}

/**
 * Scenario -> Plan: nodes and their addresses, the server entries of each tentacle
 * (overrides applied), identities and subscriptions, connections per entry,
 * registrations, the fault timeline and the safety limits. Pure: opens nothing, reads no
 * file, generates no key; `--plan` prints it and the run loop follows it. The route
 * definitions and the safety rules come in `sources` (src/environment/plan-sources.ts).
 */
export function planScenario(s: Scenario, sources: PlanSources): Plan {
  const f = s.fleet;
  const external = s.target === 'external' && s.external ? s.external : null;
  const nodes: PlanNode[] = external
    ? external.nodes.map((n) => ({ name: n.name, address: n.address, thumbprint: n.thumbprint, apiUrl: n.apiUrl }))
    : nodeSpecs(s).map((n) => ({ name: n.name, address: `${n.polling.host}:${portText(n.polling.port)}`, thumbprint: null, apiUrl: null }));
  const nodeNames = nodes.map((n) => n.name);
  const route = sources.routes[s.route.kind];
  const entries: PlanEntry[] = external
    ? external.nodes.map((n) => ({ address: n.address, reaches: [n.name] }))
    : route.planEntries({ scenario: s, nodeNames, nodeHosts: nodeSpecs(s).map((n) => n.polling.host), nodePorts: nodeSpecs(s).map((n) => n.polling.port), balancerHost: balancerAddress(s) });
  // A node that joins mid-run (node-added) is in no tentacle's server list: the fleet was
  // configured before it existed. Every tentacle polls the other nodes only.
  const joining = s.faults.filter((x) => faultDefinition(x.action).joinsCluster).map((x) => faultNode(x)).filter((n): n is string => n !== null);
  const rawOverrides = joining.length
    ? [...f.overrides.map((o) => ({ ...o, nodes: o.nodes.filter((n) => !joining.includes(n)) })), { from: 0, to: f.tentacles - 1, nodes: nodes.map((n) => n.name).filter((n) => !joining.includes(n)) }]
    : f.overrides;
  const overrides = rawOverrides.map((o) => ({ ...o, entries: entries.filter((e) => e.reaches.length === 1 && o.nodes.includes(e.reaches[0]!)).length }));
  const allNodes = nodeNames.map((_, i) => i);
  const given = !!external && !external.register;
  return {
    scenario: s.name,
    target: external ? 'external' : 'embedded',
    route: {
      kind: s.route.kind,
      summary: route.summary,
      balancer: external || !route.balanced ? null : s.route.balancer,
      transport: s.route.transport,
      preset: s.route.preset,
    },
    queue: external ? 'per-node' : s.cluster.queue,
    nodes,
    entries,
    overrides,
    fleet: { profile: f.profile, tentacles: f.tentacles, connectionsPerEntry: f.pollingConnectionCount, rampUpMs: f.rampUpMs, workers: fleetWorkerCount(f.workers, f.tentacles) },
    shard: s.shard,
    durationMs: s.durationMs,
    // External: the steady phase starts with the last tentacle (the real cluster is not ours to wait for).
    settleMs: external ? 0 : Math.min(RUN_DEFAULTS.settleMaxMs, s.protocol.pollingQueueWaitMs),
    identities: given
      ? { count: 1, source: 'given', subscriptions: f.tentacles, file: external.identity.pfx ?? external.identity.cert }
      : { count: f.tentacles, source: 'generated', subscriptions: f.tentacles, file: null },
    registration: external ? externalRegistration(s, sources.serverCertificatePath) : { kind: 'embedded', through: s.route.registration === 'alb' ? 'balancer' : s.route.kind === 'proxy' && s.route.proxy.registration !== 'direct' ? 'proxy' : 'nodes', count: f.tentacles },
    faults: s.faults.map((x) => ({ name: x.name, kind: x.action, target: x.targetText, atMs: x.atMs, forMs: x.forMs })),
    pairSource: external ? 'tentacle' : 'node',
    queueGroups: nodeNames.map((_, i) => (!external && s.cluster.queue !== 'per-node' ? allNodes : [i])),
    safety: external ? { allowLoad: external.allowLoad, problems: sources.externalSafetyProblems(s), limits: EXTERNAL_SAFETY_DEFAULTS } : null,
  };
}

function externalRegistration(s: Scenario, serverCertificatePath: string): Plan['registration'] {
  const ext = s.external!;
  const r = ext.register;
  if (!r || !ext.apiUrl) return { kind: 'none' };
  const first = ext.nodes[0];
  // register-with checks the TCP polling port with POST /handshake; a wss:// entry has none.
  const handshake = first && !/^wss:\/\//i.test(first.address) ? [`POST https://${first.host}:${first.port}/handshake`] : [];
  return {
    kind: 'synthetic',
    count: r.count,
    apiUrl: ext.apiUrl,
    space: ext.space,
    ratePerSecond: r.ratePerSecond,
    namePrefix: r.namePrefix,
    environment: r.environment,
    roles: r.roles,
    ledgerFile: r.ledgerFile,
    steps: [
      ...handshake, 'GET /api', 'GET /api/users/me', 'GET /api/users/<user>/spaces', `GET ${serverCertificatePath}`,
      'GET /api/<space>/environments (every page)', 'GET /api/<space>/machines?name=<name>',
      r.force ? 'POST /api/<space>/machines (PUT /api/<space>/machines/<id> when the name exists)' : 'POST /api/<space>/machines',
    ],
    apiKeyFrom: ext.apiKeyEnv ? `environment variable ${ext.apiKeyEnv}` : ext.apiKeyFile ? `file ${ext.apiKeyFile}` : 'none configured',
  };
}
