import { z } from 'zod';
import { durationSchema } from './duration.js';
import { EXTERNAL_SAFETY_DEFAULTS } from './defaults.js';
import { faultSchema } from '../faults/fault-schema.js';

/**
 * The scenario file, as users write it (YAML or JSON). Every field is optional except where
 * noted; defaults come from src/scenario/defaults.ts when the scenario is resolved
 * (src/scenario/resolve.ts). Unknown fields are errors, so typos never pass silently.
 * The reference for users is scenarios/README.md -- keep the two in step.
 */

const duration = durationSchema;
/** A length of time that must pass: a run of 0 s ends as the ramp does, with handshakes still in flight, and its verdict would blame the tentacles' configuration. */
const positiveDuration = duration.refine((ms) => ms > 0, 'expected a duration longer than 0, like 30s or 5m');

const port = z.number().int().min(0, 'expected a port from 0 to 65535').max(65535, 'expected a port from 0 to 65535');
const loopbackHost = z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/, 'expected a loopback IPv4 address (127.x.y.z)');
const share = z.number().min(0, 'expected a share from 0 to 1').max(1, 'expected a share from 0 to 1');
const thumbprint = z
  .string()
  .transform((v) => v.replace(/[\s:]/g, '').toUpperCase())
  .refine((v) => /^[0-9A-F]{40}$/.test(v), 'expected a certificate thumbprint: 40 hex characters (SHA-1)');

export const ROUTE_KINDS = ['direct', 'unique-port', 'single-address', 'nlb-unique-port', 'alb', 'sni-passthrough', 'proxy'] as const;
export const QUEUE_KINDS = ['per-node', 'shared', 'redis'] as const;
export const BALANCER_KINDS = ['simulator', 'haproxy', 'nginx'] as const;
/** Polling transports; `websocket` is served by the routes in WEBSOCKET_ROUTE_KINDS. */
export const TRANSPORT_KINDS = ['tcp', 'websocket'] as const;
export const WEBSOCKET_ROUTE_KINDS = ['direct', 'alb'] as const;

/**
 * Values written into a generated HAProxy / nginx / Squid configuration or an HTTP request line:
 * a space, line break or control character there would end the directive and let a scenario
 * file add its own (HAProxy's external-check runs programs), or split the request.
 */
const urlPath = z.string().regex(/^\/[!-~]*$/, 'expected a URL path starting with / (no spaces or control characters)');
/** RFC 7617: a Basic user-id has no colon; no control characters either (it is also a line of Squid's password file). */
const proxyUsername = z.string().regex(/^[ -9;-~\u00a0-\uffff]+$/, 'expected a user name without a colon, line break or control character');

const healthCheckSchema = z.strictObject({
  protocol: z.enum(['tcp', 'http', 'https']).optional(),
  path: urlPath.optional(),
  interval: duration.optional(),
  timeout: duration.optional(),
  healthyThreshold: z.number().int().min(1).max(10).optional(),
  unhealthyThreshold: z.number().int().min(1).max(10).optional(),
});

const nlbSchema = z.strictObject({
  idleTimeout: duration.optional(),
  stickiness: z.enum(['none', 'source-ip']).optional(),
  hashSeed: z.number().int().optional(),
  healthCheck: healthCheckSchema.optional(),
  /** What happens to a target's connections when it turns unhealthy: reset them (AWS default) or keep them (unhealthy.draining). */
  onUnhealthy: z.enum(['reset', 'drain']).optional(),
  deregistrationDelay: duration.optional(),
  deregistrationTermination: z.boolean().optional(),
  /** A TLS listener (terminates TLS with the balancer's own certificate) instead of TCP pass-through. */
  tlsListener: z.boolean().optional(),
  /** At idle expiry: reset-next-packet (AWS NLB), silent-drop (Azure default), reset (both ways at once: Azure "TCP reset"). */
  onIdle: z.enum(['reset-next-packet', 'silent-drop', 'reset']).optional(),
  /** Azure's "TCP reset on idle": true = onIdle reset, false = onIdle silent-drop. */
  tcpReset: z.boolean().optional(),
});

const albSchema = z.strictObject({
  idleTimeout: duration.optional(),
  routing: z.enum(['round-robin', 'least-outstanding']).optional(),
  mtls: z.enum(['off', 'passthrough']).optional(),
  healthCheck: healthCheckSchema.optional(),
});

/** route.preset: a product's documented balancer defaults (src/scenario/balancer-presets.ts). */
export const BALANCER_PRESETS = ['aws-nlb', 'aws-alb', 'azure-lb', 'gcp-network', 'gcp-http', 'haproxy', 'nginx', 'octopus-cloud'] as const;

const sniName = z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i, 'expected a DNS host name such as polling1.example.test');
/** route.sni (route kind sni-passthrough): the router's names and the classic mistakes. */
const sniSchema = z.strictObject({
  /** The router's port (443 in real life; 0 = a free port). */
  port: port.optional(),
  /** Names are polling1.<domain>, polling2.<domain>, ... (one-name: polling.<domain>). */
  domain: sniName.optional(),
  /** per-node (a name per node, the Helm chart's) | one-name (Octopus Cloud: one name, every node behind it). */
  layout: z.enum(['per-node', 'one-name']).optional(),
  /** passthrough (TCP, routes by SNI) | http (an HTTP-mode reverse proxy that terminates TLS: the classic mistake). */
  mode: z.enum(['passthrough', 'http']).optional(),
  /** The router maps these names to the wrong node: { polling2.example.test: node1 }. */
  misroute: z.record(sniName, z.string().min(1)).optional(),
  /** The router has no mapping for these names (a node added without its name). */
  missing: z.array(sniName).optional(),
});

// ---- route kind proxy (src/environment/routes/proxy.ts): an HTTP CONNECT proxy in the path ----
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');
/** A proxy as Tentacle.config names one (Octopus.Server.Proxy.*): no credentials inside the URL. */
const proxyUrl = z.string().regex(/^http:\/\/(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}\/?$/, 'expected http://host:port (credentials go in username and passwordEnv, not in the URL)');
const proxyEndpointSchema = z.strictObject({
  url: proxyUrl,
  username: proxyUsername.optional(),
  /** Name of the environment variable holding the proxy password (never the password itself). */
  passwordEnv: envName.optional(),
});
export const PROXY_PROGRAMS = ['simulator', 'squid', 'none'] as const;
const proxySchema = z.strictObject({
  /** Where the proxy is; with program squid or simulator, a loopback address to start it on (default a free port on 127.0.0.1). */
  url: proxyUrl.optional(),
  username: proxyUsername.optional(),
  passwordEnv: envName.optional(),
  /** Which proxy pollfleet starts: its CONNECT simulator (default without url), real Squid, or none (use url as it is; default with url). */
  program: z.enum(PROXY_PROGRAMS, { message: `expected one of: ${PROXY_PROGRAMS.join(', ')}` }).optional(),
  /** CONNECT to these ports is denied (403); `polling` and `api` stand for the nodes' polling and REST API ports. */
  denyPorts: z.array(z.union([port, z.enum(['polling', 'api'])])).optional(),
  /** The proxy demands Basic authentication (407 without the right username and password). */
  requireAuth: z.boolean().optional(),
  /** The simulator closes every tunnel this long after it opened. */
  cutTunnelsAfter: duration.optional(),
  /** The simulator inspects TLS: it terminates it with a certificate issued by its own CA and re-encrypts to the node. */
  inspectTls: z.boolean().optional(),
});

const routeSchema = z.strictObject({
  kind: z.enum(ROUTE_KINDS, { message: `expected one of: ${ROUTE_KINDS.join(', ')}` }),
  /** Which balancer carries a balanced route: pollfleet's simulators, or real HAProxy / nginx. */
  balancer: z.enum(BALANCER_KINDS).optional(),
  /** Where tentacles register (80/443 in real life): straight to a node, or through the ALB. */
  registration: z.enum(['direct', 'alb']).optional(),
  /** How tentacles poll: TCP to the polling port (default), or WebSockets (wss://node:443/OctopusComms on the HTTPS API). */
  transport: z.enum(TRANSPORT_KINDS, { message: `expected one of: ${TRANSPORT_KINDS.join(', ')}` }).optional(),
  nlb: nlbSchema.optional(),
  alb: albSchema.optional(),
  // route.preset and route.sni: balancer presets (src/scenario/balancer-presets.ts) and route sni-passthrough.
  preset: z.enum(BALANCER_PRESETS, { message: `expected one of: ${BALANCER_PRESETS.join(', ')}` }).optional(),
  sni: sniSchema.optional(),
  /** Route kind proxy: the HTTP CONNECT proxy every polling connection goes through. */
  proxy: proxySchema.optional(),
  /** Route kind proxy: where registration (REST) goes -- through the same proxy (default), straight, or through another one. */
  registrationProxy: z.union([z.enum(['same', 'direct']), proxyEndpointSchema]).optional(),
});

const clusterSchema = z.strictObject({
  nodes: z.number().int().min(1, 'expected at least 1 node').max(50, 'at most 50 nodes (an NLB has 50 listeners)').optional(),
  queue: z.enum(QUEUE_KINDS).optional(),
  redisUrl: z.string().regex(/^rediss?:\/\//, 'expected a redis:// URL').optional(),
  /** First polling port (10943 series); 0 = any free port. */
  pollingPort: port.optional(),
  /** First loopback address for one-address-per-node routes. */
  directAddressBase: loopbackHost.optional(),
  /** REST API over HTTPS (with the cluster certificate) instead of HTTP. */
  apiHttps: z.boolean().optional(),
  /** Run each node in its own process (default; needed for real crash/hang faults). */
  processes: z.boolean().optional(),
  /** Embedded nodes close a subscription's connections beyond this many (per node) right after MX-SUBSCRIBER; unset = no cap. */
  maxConnectionsPerSubscription: z.number().int().min(1, 'expected at least 1 connection').max(1000).optional(),
  /** Embedded REST API answers 429 with Retry-After beyond this rate, per node (as Octopus Server 2026.3+ may); unset = no limit. */
  apiRateLimit: z
    .strictObject({
      requestsPerSecond: z.number().positive('expected more than 0 requests per second').max(100_000),
      /** Requests served at once before the limit applies; default: requestsPerSecond rounded up. */
      burst: z.number().int().min(1, 'expected at least 1 request').max(100_000).optional(),
    })
    .optional(),
  /** Timings of the Redis queue (queue: redis), REDIS_QUEUE_DEFAULTS when unset; tests and demos shorten them. */
  redisQueue: z
    .strictObject({
      heartbeatInterval: duration.optional(),
      heartbeatInitialDelay: duration.optional(),
      senderGivesUpAfter: duration.optional(),
      processorGivesUpAfter: duration.optional(),
      operationRetryWindow: duration.optional(),
      commandTimeout: duration.optional(),
      dequeueErrorDropMax: duration.optional(),
      dataLossCheckInterval: duration.optional(),
    })
    .optional(),
  /** `real` (default): embedded nodes lose work handed to dead connections, as real nodes; `lenient`: the old forgiving node. */
  nodeBehaviour: z.enum(['real', 'lenient']).optional(),
});

const externalNodeSchema = z.strictObject({
  name: z.string().min(1).optional(),
  polling: z.string().min(1, 'expected host:port'),
  thumbprint: thumbprint.optional(),
  api: z.string().url('expected an http(s) URL').optional(),
});

const externalSchema = z.strictObject({
  nodes: z.array(externalNodeSchema).min(1, 'list at least one node').max(EXTERNAL_SAFETY_DEFAULTS.maxNodes, `at most ${EXTERNAL_SAFETY_DEFAULTS.maxNodes} nodes (an Octopus HA cluster has a handful)`),
  /** Expected server thumbprint for every node that does not give its own. */
  thumbprint: thumbprint.optional(),
  apiUrl: z.string().url('expected an http(s) URL').optional(),
  space: z.string().optional(),
  /** Name of the environment variable holding the API key (never the key itself). */
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
  /** Tentacle identity: a PEM certificate + key, or a PFX. */
  identity: z
    .strictObject({
      cert: z.string().optional(),
      key: z.string().optional(),
      pfx: z.string().optional(),
      passphraseEnv: z.string().optional(),
    })
    .optional(),
  /** Refused at resolve (FOREIGN_SUBSCRIPTION_REFUSAL): kept here so the refusal can explain why. */
  subscriptionId: z.string().regex(/^poll:\/\/[a-z0-9.-]+\/$/i, 'expected poll://<id>/').optional(),
  /** A file holding the API key (readable by its owner only), instead of apiKeyEnv. */
  apiKeyFile: z.string().min(1).optional(),
  /** Verify the REST API's TLS certificate (default true). false only for a test cluster with a self-signed API certificate. */
  apiTlsVerify: z.boolean().optional(),
  /** The cluster uses multi-node polling (a shared queue): preflight checks /api/serverstatus/redis. */
  multiNodePolling: z.boolean().optional(),
  /** The cluster's Redis, for preflight's lint of its configuration (with multiNodePolling). */
  redisUrl: z.string().regex(/^rediss?:\/\//, 'expected a redis:// URL').optional(),
  /** Lift the safety limits for real targets (fleet size, registration rate, duration). */
  allowLoad: z.boolean().optional(),
  /** With register: queue a real health-check task for the synthetic machines this often (POST /api/tasks) and measure it. */
  healthChecks: z.strictObject({ every: duration }).optional(),
  /** Register synthetic polling machines before the run and delete exactly those afterwards. */
  register: z
    .strictObject({
      count: z.number().int().min(1, 'expected at least 1 machine').optional(),
      environment: z.string().min(1),
      roles: z.array(z.string().min(1)).min(1).optional(),
      namePrefix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, . _ -').optional(),
      /** Registrations per second (rate limit). */
      ratePerSecond: z.number().positive().optional(),
      machinePolicyId: z.string().min(1).optional(),
      /** Ledger of created machines (default reports/.pollfleet-ledger.json). */
      ledger: z.string().min(1).optional(),
      /** A machine of the same name exists: replace it (register-with --force) instead of refusing. */
      force: z.boolean().optional(),
    })
    .optional(),
});

const fleetSchema = z.strictObject({
  tentacles: z.number().int().min(1, 'expected at least 1 tentacle').max(100_000).optional(),
  rampUp: duration.optional(),
  pollingConnectionCount: z.number().int().min(1).max(512, 'Tentacle allows 1..512 polling connections').optional(),
  /** `kubernetes-agent`: the Octopus Kubernetes agent (a polling Tentacle in a pod): 5 polling connections per entry unless given, registered as KubernetesTentacle. */
  profile: z.enum(['tentacle', 'kubernetes-agent']).optional(),
  keyPairs: z.number().int().min(1).max(1000).optional(),
  registrationConcurrency: z.number().int().min(1).max(256).optional(),
  /** Preamble style: Windows Tentacles send MX\r\n\r\n, Linux ones MX\n\n. */
  preamble: z.enum(['crlf', 'lf']).optional(),
  /** Worker threads running the tentacles: 1 = single-threaded (default), N, or `auto` (one per ~2,500 tentacles, at most cores - 1). */
  workers: z.union([z.literal('auto'), z.number().int().min(1, 'expected auto or a number of worker threads from 1').max(64, 'expected at most 64 worker threads')]).optional(),
  /** Give some tentacles only some of the server entries (to show what a partial configuration costs). */
  overrides: z
    .array(
      z.strictObject({
        tentacles: z.union([z.number().int().min(0), z.string().regex(/^\d+(-\d+)?$/, 'expected N or N-M')]),
        nodes: z.array(z.string().min(1)).min(1),
      }),
    )
    .optional(),
});

/** A size: bytes as a number, or `512KiB`, `50MiB`, `1GiB` (also KB/MB/GB, same powers of 1024). */
const byteSize = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const m = typeof v === 'number' ? [String(v), String(v), ''] : /^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*$/i.exec(v);
  const unit = (m?.[2] ?? '').toLowerCase().replace('i', '');
  const factor = unit === 'kb' ? 1024 : unit === 'mb' ? 1024 ** 2 : unit === 'gb' ? 1024 ** 3 : 1;
  const bytes = m ? Math.round(Number(m[1]) * factor) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    ctx.addIssue({ code: 'custom', message: `expected a size like 1048576, 512KiB or 50MiB, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return bytes;
});

const weight = z.number().min(0, 'expected a weight >= 0');

const workloadSchema = z.strictObject({
  interval: duration.optional(),
  /** Legacy: without `mix`, this share of tasks are deployment steps and the rest health checks. */
  scriptShare: share.optional(),
  enabled: z.boolean().optional(),
  /** Relative weights of the task kinds each round starts (src/cluster/tasks/). */
  mix: z
    .strictObject({ health: weight.optional(), deploy: weight.optional(), upload: weight.optional() })
    .refine((m) => (m.health ?? 0) + (m.deploy ?? 0) + (m.upload ?? 0) > 0, 'expected at least one weight above 0')
    .optional(),
  concurrentTasksPerTentacle: z.number().int().min(1, 'expected at least 1 task').max(1000, 'expected at most 1000 tasks').optional(),
  scriptDuration: duration.optional(),
  uploadSize: byteSize.optional(),
  /** Tasks executing at once per node (Octopus's task cap); the rest wait Queued. */
  taskCap: z.number().int().min(1, 'expected at least 1 task').optional(),
});

const timeoutsSchema = z.strictObject({
  pollingQueueWait: duration.optional(),
  pollingRequestQueueTimeout: duration.optional(),
  receiveRequestTimeout: duration.optional(),
  receiveTimeout: duration.optional(),
  receiveResponseTimeout: duration.optional(),
  heartbeatTimeout: duration.optional(),
  connectTimeout: duration.optional(),
  keepAliveInitialDelay: duration.optional(),
  /** Quick inner retries of a tentacle before its back-off (src/tentacle/quick-retry.ts). */
  retryListeningSleepInterval: duration.optional(),
  retryCountLimit: z.number().int().min(1, 'expected at least 1 try (1: no quick retries)').max(100, 'expected at most 100 tries').optional(),
  connectionErrorRetryTimeout: duration.optional(),
});

const backoffSchema = z.strictObject({ min: duration.optional(), max: duration.optional() });

export const scenarioBodySchema = z.strictObject({
  // It names the run folder (reports/<name>-<time>, and <name>-merged for a merge): 100 leaves room under a file system's 255-byte names.
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a name of letters, digits, . _ -').max(100, 'expected at most 100 characters (it names the run folder)').optional(),
  description: z.string().optional(),
  target: z.enum(['embedded', 'external']).optional(),
  cluster: clusterSchema.optional(),
  route: routeSchema.optional(),
  external: externalSchema.optional(),
  fleet: fleetSchema.optional(),
  workload: workloadSchema.optional(),
  timeouts: timeoutsSchema.optional(),
  backoff: backoffSchema.optional(),
  /** Steady-state length after every tentacle has started. */
  duration: positiveDuration.optional(),
  /** A pair whose last poll is older than this is not covered. */
  staleness: duration.optional(),
  /** Drive the REST API with autocannon at the end of the steady phase (through the ALB when the route has one). */
  apiLoad: z
    .strictObject({
      connections: z.number().int().min(1).max(1000).optional(),
      duration: positiveDuration.optional(),
      maxRequests: z.number().int().min(1).max(10_000_000).optional(),
      path: urlPath.optional(),
    })
    .optional(),
  thresholds: z.array(z.string().min(1)).optional(),
  /** The fault timeline (src/faults/fault-schema.ts); times count from the start of the steady phase. */
  faults: z.array(faultSchema).optional(),
  /** Expected verdict (used by comparisons to show whether a route behaved as documented). */
  expect: z.enum(['pass', 'fail']).optional(),
});

/** A comparison: common settings plus variants laid over them, run one after another. */
export const comparisonSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).optional(),
  description: z.string().optional(),
  base: z.unknown().optional(),
  variants: z.array(z.record(z.string(), z.unknown())).min(1, 'list at least one variant'),
});

export type ScenarioInput = z.input<typeof scenarioBodySchema>;
export type ScenarioParsed = z.output<typeof scenarioBodySchema>;
