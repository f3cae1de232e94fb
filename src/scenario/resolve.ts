import {
  API_LOAD_DEFAULTS,
  ALB_DEFAULTS, BACKOFF_DEFAULTS, BALANCER_PRESET_DEFAULTS, CLUSTER_DEFAULTS, FLEET_DEFAULTS, METRICS_DEFAULTS, NLB_DEFAULTS,
  PING_PATH, PROTOCOL_DEFAULTS, RUN_DEFAULTS, WORKLOAD_DEFAULTS,
  EXTERNAL_SAFETY_DEFAULTS, SYNTHETIC_REGISTRATION_DEFAULTS,
  TENTACLE_DEFAULTS,
  REDIS_QUEUE_DEFAULTS,
  type RedisQueueSettings,
} from './defaults.js';
import { formatDuration } from './duration.js';
import { realBalancerProblems, realBalancerSettings, type HealthCheckSettings, type RealBalancerSettings } from './real-balancer-settings.js';
import type { ResolveProblem } from './resolve-problem.js';
import { applyBalancerPreset, type AppliedPreset } from './balancer-presets.js';
import { resolveSni, type SniSettings } from './sni-settings.js';
import { resolveProxySettings, type ProxySettings } from './proxy-settings.js';

export type { HealthCheckSettings, RealBalancerSettings, ResolveProblem };
import type { ScenarioParsed } from './schema.js';
import { BALANCER_KINDS, QUEUE_KINDS, ROUTE_KINDS, WEBSOCKET_ROUTE_KINDS, type TRANSPORT_KINDS } from './schema.js';
import { resolveFaults, type FaultSpec } from '../faults/resolve-faults.js';
import type { WorkloadTaskSettings } from '../cluster/tasks/server-task.js';

export type RouteKind = (typeof ROUTE_KINDS)[number];
export type QueueKind = (typeof QUEUE_KINDS)[number];
export type BalancerKind = (typeof BALANCER_KINDS)[number];
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

export interface ProtocolSettings {
  pollingQueueWaitMs: number;
  pollingRequestQueueTimeoutMs: number;
  receiveRequestTimeoutMs: number;
  receiveTimeoutMs: number;
  receiveResponseTimeoutMs: number;
  heartbeatTimeoutMs: number;
  connectTimeoutMs: number;
  keepAliveInitialDelayMs: number;
  retryListeningSleepIntervalMs: number;
  retryCountLimit: number;
  connectionErrorRetryTimeoutMs: number;
  maxMessageBytes: number;
}

export interface ExternalNode {
  name: string;
  host: string;
  port: number;
  /** As written (for reports). */
  address: string;
  thumbprint: string | null;
  apiUrl: string | null;
}

/** external.register, resolved: synthetic machines registered for the run and deleted after it. */
export interface SyntheticRegistration {
  count: number;
  environment: string;
  roles: string[];
  namePrefix: string;
  ratePerSecond: number;
  machinePolicyId: string | null;
  ledgerFile: string;
  /** Replace a machine of the same name instead of refusing (register-with --force). */
  force: boolean;
}

/** A scenario with every default filled in: nothing downstream needs `??`. */
export interface Scenario {
  name: string;
  description: string;
  target: 'embedded' | 'external';
  cluster: {
    nodes: number;
    queue: QueueKind;
    redisUrl: string | null;
    pollingPort: number;
    directAddressBase: string;
    apiHttps: boolean;
    processes: boolean;
    /** Embedded nodes' per-subscription connection cap (per node); null = no cap (CLUSTER_DEFAULTS). */
    maxConnectionsPerSubscription: number | null;
    /** Embedded REST API rate limit per node; null = none (CLUSTER_DEFAULTS). */
    apiRateLimit: { requestsPerSecond: number; burst: number } | null;
    /** The Redis queue's timings (queue: redis), defaults filled in. */
    redisQueue: RedisQueueSettings;
    /** How embedded nodes handle dead connections (CLUSTER_DEFAULTS.nodeBehaviour). */
    nodeBehaviour: 'real' | 'lenient';
  };
  route: {
    kind: RouteKind;
    balancer: BalancerKind;
    registration: 'direct' | 'alb';
    /** `websocket`: tentacles poll wss://<node API or ALB>/OctopusComms (needs cluster.apiHttps). */
    transport: TransportKind;
    nlb: {
      idleTimeoutMs: number;
      stickiness: 'none' | 'source-ip';
      hashSeed: number;
      healthCheck: HealthCheckSettings;
      onUnhealthy: 'reset' | 'drain';
      deregistrationDelayMs: number;
      deregistrationTermination: boolean;
      tlsListener: boolean;
      /** At idle expiry: RST on the next packet (AWS NLB), silent drop (Azure default) or RST both ways at once (Azure TCP reset). */
      onIdle: 'reset-next-packet' | 'silent-drop' | 'reset';
    };
    alb: {
      idleTimeoutMs: number;
      routing: 'round-robin' | 'least-outstanding';
      mtls: 'off' | 'passthrough';
      healthCheck: HealthCheckSettings;
    };
    /**
     * What a real HAProxy / nginx carrying this route applies (route.balancer haproxy or
     * nginx): the settings of the route's balancer section (nlb for single-address and
     * nlb-unique-port, alb for alb) that the scenario itself sets; null keeps the program's
     * pollfleet default (REAL_BALANCER_DEFAULTS: long idle timeouts, no health check).
     * Stickiness and routing always apply (their defaults are the programs' round robin).
     */
    realBalancer: RealBalancerSettings;
    /** route.preset: what it set (src/scenario/balancer-presets.ts); null without one. */
    preset: AppliedPreset | null;
    /** Route sni-passthrough's names and router map (src/scenario/sni-settings.ts); null for other kinds. */
    sni: SniSettings | null;
    /** Route kind proxy: the HTTP CONNECT proxy and where registration goes (src/scenario/proxy-settings.ts). */
    proxy: ProxySettings;
  };
  external: {
    nodes: ExternalNode[];
    apiUrl: string | null;
    space: string | null;
    apiKeyEnv: string | null;
    identity: { cert: string | null; key: string | null; pfx: string | null; passphraseEnv: string | null };
    apiKeyFile: string | null;
    /** Verify the REST API's TLS certificate. */
    apiTlsVerify: boolean;
    multiNodePolling: boolean;
    /** The cluster's Redis, linted by preflight (multi-node polling). */
    redisUrl: string | null;
    allowLoad: boolean;
    register: SyntheticRegistration | null;
    /** Real health-check tasks for the synthetic machines (external.healthChecks); null = none. */
    healthChecks: { everyMs: number } | null;
  } | null;
  fleet: {
    tentacles: number;
    rampUpMs: number;
    pollingConnectionCount: number;
    /** What the simulated machines are: polling Tentacles, or Kubernetes agents (fleet.profile). */
    profile: 'tentacle' | 'kubernetes-agent';
    keyPairs: number;
    registrationConcurrency: number;
    preamble: 'crlf' | 'lf';
    /** Worker threads for the tentacles (fleet.workers): a number, or `auto`, sized when the fleet starts (src/plan/worker-count.ts). */
    workers: number | 'auto';
    overrides: { from: number; to: number; nodes: string[] }[];
  };
  workload: { intervalMs: number; scriptShare: number; enabled: boolean; tasks: WorkloadTaskSettings };
  protocol: ProtocolSettings;
  backoff: { minMs: number; maxMs: number };
  durationMs: number;
  stalenessMs: number;
  apiLoad: { connections: number; durationMs: number; maxRequests: number; path: string } | null;
  thresholds: string[];
  expect: 'pass' | 'fail' | null;
  /** The fault timeline, sorted by start (src/faults/resolve-faults.ts). */
  faults: FaultSpec[];
  /** Settings shorter than their real defaults, labelled for every output. */
  shortened: string[];
  /** The slice of the fleet this process runs (`--shard i/n`, src/plan/shard.ts); null: the whole fleet. */
  shard: ShardSpec | null;
}

/** Which slice of the fleet one shard process runs (`--shard i/n`). */
export interface ShardSpec {
  /** 1-based. */
  index: number;
  count: number;
  /** The whole fleet's index of this shard's first tentacle (0-based). */
  firstTentacle: number;
  /** This shard's tentacles. */
  tentacles: number;
  /** Tentacles of the whole fleet (every shard together). */
  totalTentacles: number;
}


/**
 * Why a given subscription id is refused (scenario field and --subscription-id). A node
 * queues a machine's work under its subscription and hands a queued request to whichever
 * connection claims it (authorisation is by thumbprint only); nothing in a scenario can
 * tell pollfleet that the id is one of its own synthetic machines.
 */
export const FOREIGN_SUBSCRIPTION_REFUSAL =
  "pollfleet never polls with a given subscription id: it is a real machine's, and a node hands that machine's queued work " +
  "(health checks, deployment steps, file transfers) to whichever connection claims its subscription -- pollfleet would collect it, " +
  'answer it falsely or drop it. Leave it out: every simulated tentacle polls with a fresh subscription of its own ' +
  '(polling, identification and the null-message cadence are still measured), or use external.register for synthetic machines';

function splitHostPort(text: string): { host: string; port: number } | null {
  // wss://host[:443]/OctopusComms: polling over WebSockets (the port defaults to 443).
  const ws = /^wss:\/\/(\[[^\]]+\]|[^/:]+)(?::(\d+))?(\/.*)?$/i.exec(text);
  if (ws) return { host: ws[1]!.replace(/^\[|\]$/g, ''), port: Number(ws[2] ?? 443) };
  const t = text.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(t) ?? /^([^:]+):(\d+)$/.exec(t);
  if (!m) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : null;
}

/** Fill in defaults and check what spans several fields. Problems are returned, all at once. */
export function resolveScenario(input: ScenarioParsed, fallbackName: string): { scenario?: Scenario; problems: ResolveProblem[] } {
  // route.preset lays a product's balancer defaults under the scenario's own route settings.
  const preset = applyBalancerPreset(input);
  const p = preset.parsed;
  const problems: ResolveProblem[] = [...preset.problems];
  const target = p.target ?? (p.external ? 'external' : 'embedded');
  const nodes = p.cluster?.nodes ?? CLUSTER_DEFAULTS.nodes;
  const routeKind = p.route?.kind ?? 'direct';

  type HealthCheckInput = NonNullable<NonNullable<NonNullable<typeof p.route>['nlb']>['healthCheck']> | undefined;
  const hc = (h: HealthCheckInput, d: { intervalMs: number; timeoutMs: number; healthyThreshold: number; unhealthyThreshold: number }, proto: 'tcp' | 'http' | 'https'): HealthCheckSettings => ({
    protocol: h?.protocol ?? proto,
    path: h?.path ?? PING_PATH,
    intervalMs: h?.interval ?? d.intervalMs,
    timeoutMs: h?.timeout ?? d.timeoutMs,
    healthyThreshold: h?.healthyThreshold ?? d.healthyThreshold,
    unhealthyThreshold: h?.unhealthyThreshold ?? d.unhealthyThreshold,
  });

  const protocol: ProtocolSettings = {
    pollingQueueWaitMs: p.timeouts?.pollingQueueWait ?? PROTOCOL_DEFAULTS.pollingQueueWaitMs,
    pollingRequestQueueTimeoutMs: p.timeouts?.pollingRequestQueueTimeout ?? PROTOCOL_DEFAULTS.pollingRequestQueueTimeoutMs,
    receiveRequestTimeoutMs: p.timeouts?.receiveRequestTimeout ?? PROTOCOL_DEFAULTS.receiveRequestTimeoutMs,
    receiveTimeoutMs: p.timeouts?.receiveTimeout ?? PROTOCOL_DEFAULTS.receiveTimeoutMs,
    receiveResponseTimeoutMs: p.timeouts?.receiveResponseTimeout ?? PROTOCOL_DEFAULTS.receiveResponseTimeoutMs,
    heartbeatTimeoutMs: p.timeouts?.heartbeatTimeout ?? PROTOCOL_DEFAULTS.heartbeatTimeoutMs,
    connectTimeoutMs: p.timeouts?.connectTimeout ?? PROTOCOL_DEFAULTS.connectTimeoutMs,
    keepAliveInitialDelayMs: p.timeouts?.keepAliveInitialDelay ?? PROTOCOL_DEFAULTS.keepAliveInitialDelayMs,
    retryListeningSleepIntervalMs: p.timeouts?.retryListeningSleepInterval ?? PROTOCOL_DEFAULTS.retryListeningSleepIntervalMs,
    retryCountLimit: p.timeouts?.retryCountLimit ?? PROTOCOL_DEFAULTS.retryCountLimit,
    connectionErrorRetryTimeoutMs: p.timeouts?.connectionErrorRetryTimeout ?? PROTOCOL_DEFAULTS.connectionErrorRetryTimeoutMs,
    maxMessageBytes: PROTOCOL_DEFAULTS.maxMessageBytes,
  };
  if (protocol.pollingQueueWaitMs >= protocol.receiveRequestTimeoutMs) {
    problems.push({
      path: 'timeouts.pollingQueueWait',
      message: `must be shorter than timeouts.receiveRequestTimeout (${formatDuration(protocol.receiveRequestTimeoutMs)}), or idle tentacles give up before the node sends the null message`,
    });
  }

  let external: Scenario['external'] = null;
  if (target === 'external') {
    if (!p.external) {
      problems.push({ path: 'external', message: 'target is external: list the nodes under external.nodes' });
    } else {
      const list: ExternalNode[] = [];
      p.external.nodes.forEach((n, i) => {
        const hp = splitHostPort(n.polling);
        if (!hp) problems.push({ path: `external.nodes[${i}].polling`, message: `expected host:port or wss://host:443/OctopusComms, got ${JSON.stringify(n.polling)}` });
        const tp = n.thumbprint ?? p.external!.thumbprint ?? null;
        if (!tp) problems.push({ path: `external.nodes[${i}].thumbprint`, message: 'expected the server thumbprint (here or as external.thumbprint)' });
        list.push({ name: n.name ?? `node${i + 1}`, host: hp?.host ?? '', port: hp?.port ?? 0, address: n.polling, thumbprint: tp, apiUrl: n.api ?? null });
      });
      const id = p.external.identity;
      // The identity is checked when a run needs it (src/run/run-external.ts): preflight
      // and synthetic registration work without one.
      const reg = p.external.register;
      if (p.external.subscriptionId !== undefined) {
        problems.push({ path: 'external.subscriptionId', message: FOREIGN_SUBSCRIPTION_REFUSAL });
      }
      if (reg && !p.external.apiUrl) {
        problems.push({ path: 'external.apiUrl', message: 'external.register needs the public API URL (where machines are registered)' });
      }
      if (p.external.healthChecks && !reg) {
        problems.push({ path: 'external.healthChecks', message: 'health checks are queued for the synthetic machines pollfleet registers: add external.register (a real machine is never named in a task)' });
      }
      if (reg?.count !== undefined && p.fleet?.tentacles !== undefined && reg.count !== p.fleet.tentacles) {
        problems.push({ path: 'external.register.count', message: `registers one machine per tentacle: expected ${p.fleet.tentacles} (fleet.tentacles) or leave one of them out` });
      }
      external = {
        nodes: list,
        apiUrl: p.external.apiUrl ?? null,
        space: p.external.space ?? null,
        apiKeyEnv: p.external.apiKeyEnv ?? null,
        identity: { cert: id?.cert ?? null, key: id?.key ?? id?.cert ?? null, pfx: id?.pfx ?? null, passphraseEnv: id?.passphraseEnv ?? null },
        apiKeyFile: p.external.apiKeyFile ?? null,
        apiTlsVerify: p.external.apiTlsVerify ?? true,
        multiNodePolling: p.external.multiNodePolling ?? false,
        redisUrl: p.external.redisUrl ?? null,
        allowLoad: p.external.allowLoad ?? false,
        healthChecks: p.external.healthChecks ? { everyMs: p.external.healthChecks.every } : null,
        register: reg
          ? {
              count: reg.count ?? p.fleet?.tentacles ?? 1,
              environment: reg.environment,
              roles: reg.roles ?? [...SYNTHETIC_REGISTRATION_DEFAULTS.roles],
              namePrefix: reg.namePrefix ?? SYNTHETIC_REGISTRATION_DEFAULTS.namePrefix,
              ratePerSecond: reg.ratePerSecond ?? EXTERNAL_SAFETY_DEFAULTS.registrationsPerSecond,
              machinePolicyId: reg.machinePolicyId ?? null,
              ledgerFile: reg.ledger ?? SYNTHETIC_REGISTRATION_DEFAULTS.ledgerFile,
              force: reg.force ?? false,
            }
          : null,
      };
    }
    if (p.route && p.route.kind !== 'direct' && p.route.kind !== 'proxy') {
      problems.push({ path: 'route.kind', message: 'an external target is polled at the addresses listed in external.nodes; route must be direct, or proxy (through a CONNECT proxy you run) -- balanced routes are built only for the embedded cluster' });
    }
    if (p.route?.kind === 'proxy' && !p.route.proxy?.url) {
      problems.push({ path: 'route.proxy.url', message: 'against a real cluster pollfleet polls through the proxy you run: give its url (http://host:port), as Tentacle.config\'s Octopus.Server.Proxy.ProxyHost/ProxyPort' });
    } else if (p.route?.kind === 'proxy' && p.route.proxy?.program && p.route.proxy.program !== 'none') {
      problems.push({ path: 'route.proxy.program', message: 'against a real cluster pollfleet starts no proxy: leave program out (none), the proxy at url is used as it is' });
    }
  } else if (p.external) {
    problems.push({ path: 'external', message: 'only used with target: external' });
  }

  const nodeNames = target === 'external' ? (external?.nodes.map((n) => n.name) ?? []) : Array.from({ length: nodes }, (_, i) => `node${i + 1}`);
  const tentacles = p.fleet?.tentacles ?? (target === 'external' ? (external?.register?.count ?? 1) : FLEET_DEFAULTS.tentacles);
  const overrides: Scenario['fleet']['overrides'] = [];
  (p.fleet?.overrides ?? []).forEach((o, i) => {
    const [a, b] = typeof o.tentacles === 'number' ? [o.tentacles, o.tentacles] : o.tentacles.split('-').map(Number).concat([]) as [number, number?];
    const from = a!;
    const to = b ?? a!;
    if (to < from || to >= tentacles) problems.push({ path: `fleet.overrides[${i}].tentacles`, message: `expected tentacle indexes within 0-${tentacles - 1}` });
    for (const n of o.nodes) {
      if (!nodeNames.includes(n)) problems.push({ path: `fleet.overrides[${i}].nodes`, message: `unknown node "${n}" (nodes are ${nodeNames.join(', ')})` });
    }
    if (['single-address', 'alb'].includes(routeKind)) {
      problems.push({ path: `fleet.overrides[${i}]`, message: `route ${routeKind} has one server entry for all nodes; overrides apply to per-node entries` });
    }
    overrides.push({ from, to, nodes: o.nodes });
  });

  const queue = p.cluster?.queue ?? 'per-node';
  if (queue === 'shared' && p.cluster?.processes === true) {
    problems.push({ path: 'cluster.processes', message: 'queue: shared keeps the nodes in one process (they share one in-memory queue); leave cluster.processes unset or false' });
  }

  // route.registration: where tentacles register (80/443 in real life). `direct`: straight
  // to each node's REST API; `alb`: through the ALB that route kind alb starts in front of
  // the REST APIs (the default for that kind). Only route kind alb starts an HTTP balancer,
  // so `alb` with any other kind is rejected rather than quietly registering at the nodes.
  if (p.route?.registration === 'alb' && routeKind !== 'alb') {
    problems.push({ path: 'route.registration', message: `registration through the ALB needs route kind alb (it starts the ALB in front of the REST APIs); with route ${routeKind} tentacles register straight to the nodes: leave registration unset or write direct` });
  }

  // A WebSocket connection sends no preamble (the text message MX stands in for it).
  const everyEntryIsWebSocket = p.route?.transport === 'websocket' ||
    (target === 'external' && !!p.external?.nodes.length && p.external.nodes.every((n) => /^wss:\/\//i.test(n.polling)));
  if (p.fleet?.preamble !== undefined && everyEntryIsWebSocket) {
    problems.push({ path: 'fleet.preamble', message: 'polling over WebSockets sends no preamble (the text message MX stands in for it); leave fleet.preamble out' });
  }

  if (p.route?.transport === 'websocket') {
    if (!(WEBSOCKET_ROUTE_KINDS as readonly string[]).includes(routeKind)) {
      problems.push({ path: 'route.transport', message: `polling over WebSockets is available with route kind ${WEBSOCKET_ROUTE_KINDS.join(' or ')}, not ${routeKind}` });
    }
    if (p.cluster?.apiHttps === false) {
      problems.push({ path: 'cluster.apiHttps', message: 'polling over WebSockets is served on the HTTPS API (wss://node/OctopusComms); leave apiHttps unset or true' });
    }
    if (target === 'external') {
      problems.push({ path: 'route.transport', message: 'for an external target write wss:// addresses in external.nodes[].polling instead' });
    }
  }

  problems.push(...realBalancerProblems(p, routeKind));
  const proxy = resolveProxySettings(p, routeKind);
  problems.push(...proxy.problems);

  const s: Scenario = {
    name: p.name ?? fallbackName,
    description: p.description ?? '',
    target,
    cluster: {
      nodes,
      queue: p.cluster?.queue ?? 'per-node',
      redisUrl: p.cluster?.redisUrl ?? null,
      pollingPort: p.cluster?.pollingPort ?? CLUSTER_DEFAULTS.pollingPort,
      directAddressBase: p.cluster?.directAddressBase ?? CLUSTER_DEFAULTS.directAddressBase,
      apiHttps: p.cluster?.apiHttps ?? p.route?.transport === 'websocket',
      processes: p.cluster?.processes ?? (p.cluster?.queue ?? 'per-node') !== 'shared',
      maxConnectionsPerSubscription: p.cluster?.maxConnectionsPerSubscription ?? CLUSTER_DEFAULTS.maxConnectionsPerSubscription,
      apiRateLimit: p.cluster?.apiRateLimit
        ? { requestsPerSecond: p.cluster.apiRateLimit.requestsPerSecond, burst: p.cluster.apiRateLimit.burst ?? Math.max(1, Math.ceil(p.cluster.apiRateLimit.requestsPerSecond)) }
        : CLUSTER_DEFAULTS.apiRateLimit,
      redisQueue: redisQueueSettings(p.cluster?.redisQueue),
      nodeBehaviour: p.cluster?.nodeBehaviour ?? CLUSTER_DEFAULTS.nodeBehaviour,
    },
    route: {
      kind: routeKind,
      balancer: p.route?.balancer ?? 'simulator',
      registration: p.route?.registration ?? (routeKind === 'alb' ? 'alb' : 'direct'),
      transport: p.route?.transport ?? 'tcp',
      nlb: {
        idleTimeoutMs: p.route?.nlb?.idleTimeout ?? NLB_DEFAULTS.idleTimeoutMs,
        stickiness: p.route?.nlb?.stickiness ?? 'none',
        hashSeed: p.route?.nlb?.hashSeed ?? 1,
        healthCheck: hc(p.route?.nlb?.healthCheck, { intervalMs: NLB_DEFAULTS.healthCheckIntervalMs, timeoutMs: p.route?.nlb?.healthCheck?.protocol?.startsWith('http') ? NLB_DEFAULTS.healthCheckHttpTimeoutMs : NLB_DEFAULTS.healthCheckTimeoutMs, healthyThreshold: NLB_DEFAULTS.healthyThreshold, unhealthyThreshold: NLB_DEFAULTS.unhealthyThreshold }, 'tcp'),
        onUnhealthy: p.route?.nlb?.onUnhealthy ?? 'reset',
        deregistrationDelayMs: p.route?.nlb?.deregistrationDelay ?? NLB_DEFAULTS.deregistrationDelayMs,
        deregistrationTermination: p.route?.nlb?.deregistrationTermination ?? false,
        tlsListener: p.route?.nlb?.tlsListener ?? false,
        onIdle: p.route?.nlb?.onIdle ?? (p.route?.nlb?.tcpReset === undefined ? 'reset-next-packet' : p.route.nlb.tcpReset ? 'reset' : 'silent-drop'),
      },
      realBalancer: { idleTimeoutMs: null, healthCheck: null, onUnhealthy: null },
      preset: preset.applied,
      sni: null,
      proxy: proxy.proxy,
      alb: {
        idleTimeoutMs: p.route?.alb?.idleTimeout ?? ALB_DEFAULTS.idleTimeoutMs,
        routing: p.route?.alb?.routing ?? 'round-robin',
        mtls: p.route?.alb?.mtls ?? 'off',
        healthCheck: hc(p.route?.alb?.healthCheck, { intervalMs: ALB_DEFAULTS.healthCheckIntervalMs, timeoutMs: ALB_DEFAULTS.healthCheckTimeoutMs, healthyThreshold: ALB_DEFAULTS.healthyThreshold, unhealthyThreshold: ALB_DEFAULTS.unhealthyThreshold }, 'http'),
      },
    },
    external,
    fleet: {
      tentacles,
      rampUpMs: p.fleet?.rampUp ?? (target === 'external' ? 0 : FLEET_DEFAULTS.rampUpMs),
      pollingConnectionCount: p.fleet?.pollingConnectionCount ?? (p.fleet?.profile === 'kubernetes-agent' ? TENTACLE_DEFAULTS.kubernetesAgentPollingConnectionCount : TENTACLE_DEFAULTS.pollingConnectionCount),
      profile: p.fleet?.profile ?? 'tentacle',
      keyPairs: p.fleet?.keyPairs ?? FLEET_DEFAULTS.keyPairs,
      registrationConcurrency: p.fleet?.registrationConcurrency ?? FLEET_DEFAULTS.registrationConcurrency,
      preamble: p.fleet?.preamble ?? 'crlf',
      workers: p.fleet?.workers ?? FLEET_DEFAULTS.workers,
      overrides,
    },
    workload: {
      intervalMs: p.workload?.interval ?? WORKLOAD_DEFAULTS.intervalMs,
      scriptShare: p.workload?.scriptShare ?? WORKLOAD_DEFAULTS.scriptShare,
      enabled: p.workload?.enabled ?? true,
      tasks: resolveTasks(p.workload),
    },
    protocol,
    backoff: { minMs: p.backoff?.min ?? BACKOFF_DEFAULTS.minMs, maxMs: p.backoff?.max ?? BACKOFF_DEFAULTS.maxMs },
    durationMs: p.duration ?? (target === 'external' ? RUN_DEFAULTS.externalDurationMs : RUN_DEFAULTS.durationMs),
    stalenessMs: p.staleness ?? METRICS_DEFAULTS.stalenessMs,
    apiLoad: p.apiLoad
      ? {
          connections: p.apiLoad.connections ?? API_LOAD_DEFAULTS.connections,
          durationMs: p.apiLoad.duration ?? API_LOAD_DEFAULTS.durationMs,
          maxRequests: p.apiLoad.maxRequests ?? API_LOAD_DEFAULTS.maxRequests,
          path: p.apiLoad.path ?? API_LOAD_DEFAULTS.path,
        }
      : null,
    thresholds: p.thresholds ?? [],
    expect: p.expect ?? null,
    faults: [],
    shortened: [],
    shard: null,
  };
  s.route.realBalancer = realBalancerSettings(p, routeKind, s.route);
  // route sni-passthrough: names per node and the router's map; nlb.tcpReset and nlb.onIdle must agree.
  const sni = resolveSni(p, routeKind, nodeNames);
  s.route.sni = sni.sni;
  problems.push(...sni.problems);
  const tcpReset = p.route?.nlb?.tcpReset;
  if (tcpReset !== undefined && input.route?.nlb?.onIdle !== undefined && (tcpReset ? 'reset' : 'silent-drop') !== input.route.nlb.onIdle) {
    problems.push({ path: 'route.nlb.tcpReset', message: `tcpReset: ${tcpReset} means onIdle ${tcpReset ? 'reset' : 'silent-drop'}, but onIdle is ${input.route.nlb.onIdle}: write one of them` });
  }
  if (s.backoff.minMs > s.backoff.maxMs) problems.push({ path: 'backoff.min', message: 'must not exceed backoff.max' });
  const faults = resolveFaults(p.faults, { nodeNames, routeKind, balancer: s.route.balancer, processes: s.cluster.processes, target, durationMs: s.durationMs, embeddedRedis: s.cluster.queue === 'redis' && s.cluster.redisUrl === null });
  s.faults = faults.faults;
  problems.push(...faults.problems);
  s.shortened = shortenedSettings(s);
  return problems.length ? { problems } : { scenario: s, problems };
}

/** Every setting set below its real default, as "name value (real value)". */
export function shortenedSettings(s: Scenario): string[] {
  const out: string[] = [];
  const check = (name: string, value: number, real: number) => {
    if (value < real) out.push(`${name} ${formatDuration(value)} (real ${formatDuration(real)})`);
  };
  const p = s.protocol;
  check('pollingQueueWait', p.pollingQueueWaitMs, PROTOCOL_DEFAULTS.pollingQueueWaitMs);
  check('pollingRequestQueueTimeout', p.pollingRequestQueueTimeoutMs, PROTOCOL_DEFAULTS.pollingRequestQueueTimeoutMs);
  check('receiveRequestTimeout', p.receiveRequestTimeoutMs, PROTOCOL_DEFAULTS.receiveRequestTimeoutMs);
  check('receiveTimeout', p.receiveTimeoutMs, PROTOCOL_DEFAULTS.receiveTimeoutMs);
  check('receiveResponseTimeout', p.receiveResponseTimeoutMs, PROTOCOL_DEFAULTS.receiveResponseTimeoutMs);
  check('heartbeatTimeout', p.heartbeatTimeoutMs, PROTOCOL_DEFAULTS.heartbeatTimeoutMs);
  check('connectTimeout', p.connectTimeoutMs, PROTOCOL_DEFAULTS.connectTimeoutMs);
  check('keepAliveInitialDelay', p.keepAliveInitialDelayMs, PROTOCOL_DEFAULTS.keepAliveInitialDelayMs);
  check('retryListeningSleepInterval', p.retryListeningSleepIntervalMs, PROTOCOL_DEFAULTS.retryListeningSleepIntervalMs);
  check('connectionErrorRetryTimeout', p.connectionErrorRetryTimeoutMs, PROTOCOL_DEFAULTS.connectionErrorRetryTimeoutMs);
  check('backoff.min', s.backoff.minMs, BACKOFF_DEFAULTS.minMs);
  check('backoff.max', s.backoff.maxMs, BACKOFF_DEFAULTS.maxMs);
  check('staleness', s.stalenessMs, METRICS_DEFAULTS.stalenessMs);
  if (['single-address', 'nlb-unique-port'].includes(s.route.kind)) {
    // route.preset azure-lb / gcp-network: their own real defaults (shorter checks than AWS's are not "shortened")
    const preset = s.route.preset?.name;
    const realIdle = preset === 'azure-lb' ? BALANCER_PRESET_DEFAULTS.azureIdleTimeoutMs : preset === 'gcp-network' ? BALANCER_PRESET_DEFAULTS.gcpIdleTimeoutMs : NLB_DEFAULTS.idleTimeoutMs;
    check('nlb.idleTimeout', s.route.nlb.idleTimeoutMs, realIdle);
    if (preset !== 'azure-lb' && preset !== 'gcp-network') check('nlb.healthCheck.interval', s.route.nlb.healthCheck.intervalMs, NLB_DEFAULTS.healthCheckIntervalMs);
    check('nlb.deregistrationDelay', s.route.nlb.deregistrationDelayMs, NLB_DEFAULTS.deregistrationDelayMs);
  }
  if (s.route.kind === 'alb' || s.route.registration === 'alb') {
    check('alb.idleTimeout', s.route.alb.idleTimeoutMs, ALB_DEFAULTS.idleTimeoutMs);
    check('alb.healthCheck.interval', s.route.alb.healthCheck.intervalMs, ALB_DEFAULTS.healthCheckIntervalMs);
  }
  return out;
}

/** cluster.redisQueue as written (durations in ms) over REDIS_QUEUE_DEFAULTS. */
function redisQueueSettings(r: { [k: string]: number | undefined } | undefined): RedisQueueSettings {
  const d = REDIS_QUEUE_DEFAULTS;
  return {
    ...d,
    heartbeatIntervalMs: r?.['heartbeatInterval'] ?? d.heartbeatIntervalMs,
    heartbeatInitialDelayMs: r?.['heartbeatInitialDelay'] ?? d.heartbeatInitialDelayMs,
    senderGivesUpAfterMs: r?.['senderGivesUpAfter'] ?? d.senderGivesUpAfterMs,
    processorGivesUpAfterMs: r?.['processorGivesUpAfter'] ?? d.processorGivesUpAfterMs,
    operationRetryWindowMs: r?.['operationRetryWindow'] ?? d.operationRetryWindowMs,
    commandTimeoutMs: r?.['commandTimeout'] ?? d.commandTimeoutMs,
    dequeueErrorDropMaxMs: r?.['dequeueErrorDropMax'] ?? d.dequeueErrorDropMaxMs,
    dataLossCheckIntervalMs: r?.['dataLossCheckInterval'] ?? d.dataLossCheckIntervalMs,
  };
}

/** The task workload's knobs; a legacy `scriptShare` without `mix` splits health checks and deployment steps. */
function resolveTasks(w: ScenarioParsed['workload']): WorkloadTaskSettings {
  const legacy = w?.scriptShare;
  const mix = w?.mix
    ? { health: w.mix.health ?? 0, deploy: w.mix.deploy ?? 0, upload: w.mix.upload ?? 0 }
    : legacy !== undefined ? { health: 1 - legacy, deploy: legacy, upload: 0 } : { ...WORKLOAD_DEFAULTS.mix };
  return {
    mix,
    concurrentTasksPerTentacle: w?.concurrentTasksPerTentacle ?? WORKLOAD_DEFAULTS.concurrentTasksPerTentacle,
    scriptDurationMs: w?.scriptDuration ?? WORKLOAD_DEFAULTS.scriptDurationMs,
    uploadBytes: w?.uploadSize ?? WORKLOAD_DEFAULTS.uploadBytes,
    taskCap: w?.taskCap ?? WORKLOAD_DEFAULTS.taskCap,
    capabilitiesCacheMs: WORKLOAD_DEFAULTS.capabilitiesCacheMs,
  };
}
