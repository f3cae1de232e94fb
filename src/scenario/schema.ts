import { z } from 'zod';
import { parseDuration } from './duration.js';
import { faultSchema } from '../faults/fault-schema.js';

/**
 * The scenario file, as users write it (YAML or JSON). Every field is optional except where
 * noted; defaults come from src/scenario/defaults.ts when the scenario is resolved
 * (src/scenario/resolve.ts). Unknown fields are errors, so typos never pass silently.
 * The reference for users is scenarios/README.md -- keep the two in step.
 */

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 350ms, 30s, 2m or 1h, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

const port = z.number().int().min(0, 'expected a port from 0 to 65535').max(65535, 'expected a port from 0 to 65535');
const loopbackHost = z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/, 'expected a loopback IPv4 address (127.x.y.z)');
const share = z.number().min(0, 'expected a share from 0 to 1').max(1, 'expected a share from 0 to 1');
const thumbprint = z
  .string()
  .transform((v) => v.replace(/[\s:]/g, '').toUpperCase())
  .refine((v) => /^[0-9A-F]{40}$/.test(v), 'expected a certificate thumbprint: 40 hex characters (SHA-1)');

export const ROUTE_KINDS = ['direct', 'unique-port', 'single-address', 'nlb-unique-port', 'alb'] as const;
export const QUEUE_KINDS = ['per-node', 'shared', 'redis'] as const;
export const BALANCER_KINDS = ['simulator', 'haproxy', 'nginx'] as const;
/** Polling transports; `websocket` is served by the routes in WEBSOCKET_ROUTE_KINDS. */
export const TRANSPORT_KINDS = ['tcp', 'websocket'] as const;
export const WEBSOCKET_ROUTE_KINDS = ['direct', 'alb'] as const;

const healthCheckSchema = z.strictObject({
  protocol: z.enum(['tcp', 'http', 'https']).optional(),
  path: z.string().startsWith('/').optional(),
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
});

const albSchema = z.strictObject({
  idleTimeout: duration.optional(),
  routing: z.enum(['round-robin', 'least-outstanding']).optional(),
  mtls: z.enum(['off', 'passthrough']).optional(),
  healthCheck: healthCheckSchema.optional(),
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
  nodes: z.array(externalNodeSchema).min(1, 'list at least one node'),
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
  /** Lift the safety limits for real targets (fleet size, registration rate, duration). */
  allowLoad: z.boolean().optional(),
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
    })
    .optional(),
});

const fleetSchema = z.strictObject({
  tentacles: z.number().int().min(1, 'expected at least 1 tentacle').max(100_000).optional(),
  rampUp: duration.optional(),
  pollingConnectionCount: z.number().int().min(1).max(512, 'Tentacle allows 1..512 polling connections').optional(),
  keyPairs: z.number().int().min(1).max(1000).optional(),
  registrationConcurrency: z.number().int().min(1).max(256).optional(),
  /** Preamble style: Windows Tentacles send MX\r\n\r\n, Linux ones MX\n\n. */
  preamble: z.enum(['crlf', 'lf']).optional(),
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

const workloadSchema = z.strictObject({
  interval: duration.optional(),
  scriptShare: share.optional(),
  enabled: z.boolean().optional(),
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
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a name of letters, digits, . _ -').optional(),
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
  duration: duration.optional(),
  /** A pair whose last poll is older than this is not covered. */
  staleness: duration.optional(),
  /** Drive the REST API with autocannon at the end of the steady phase (through the ALB when the route has one). */
  apiLoad: z
    .strictObject({
      connections: z.number().int().min(1).max(1000).optional(),
      duration: duration.optional(),
      maxRequests: z.number().int().min(1).max(10_000_000).optional(),
      path: z.string().startsWith('/').optional(),
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
