/**
 * Every timeout, interval and limit pollfleet uses, with its real default and where it
 * comes from. No other file in src/ holds a literal duration: everything else reads these
 * through the resolved scenario. Units are in the names.
 *
 * [H] = the polling protocol reference (Halibut / Tentacle recommended settings)
 * [LB] = the load-balancer reference (AWS / Azure / HAProxy documentation)
 */

/** Protocol timings of both ends. [H] sections 4 and 5. */
export const PROTOCOL_DEFAULTS = {
  /** Node long-polls its queue this long before sending the null message. [H] PollingQueueWaitTimeout */
  pollingQueueWaitMs: 30_000,
  /** A queued request must be collected within this, else it expires. [H] PollingRequestQueueTimeout */
  pollingRequestQueueTimeoutMs: 120_000,
  /** Tentacle waits this long for the first byte of the next message. [H] TcpClientReceiveRequestTimeoutForPolling */
  receiveRequestTimeoutMs: 60_000,
  /** All other reads and writes. [H] TcpClientTimeout */
  receiveTimeoutMs: 60_000,
  /** Node waits this long for the first byte of a response. [H] TcpClientReceiveResponseTimeout */
  receiveResponseTimeoutMs: 300_000,
  /** NEXT / PROCEED / END. [H] TcpClientHeartbeatTimeout */
  heartbeatTimeoutMs: 60_000,
  /** TCP connect. [H] TcpClientConnectTimeout */
  connectTimeoutMs: 60_000,
  /** TCP keep-alive idle time before the first probe. [H] section 1 (interval 5 s x 10 probes are the OS's to set). */
  keepAliveInitialDelayMs: 15_000,
  /*
   * The tentacle's quick inner retries before its back-off, and the ServiceEndPoint fields
   * the node sends in every request ([H] sections 3 and 5; Halibut SecureClient.cs). A
   * failure before the connection is acquired (connect timeout, socket error, reset or EOF
   * during TLS, writing the MX preamble) is tried up to retryCountLimit tries in all,
   * retryListeningSleepIntervalMs apart, while less than connectionErrorRetryTimeoutMs has
   * passed; which failures qualify: QUICK_RETRY_ERROR_KINDS in src/tentacle/quick-retry.ts.
   * Scenario keys: timeouts.retryListeningSleepInterval, .retryCountLimit, .connectionErrorRetryTimeout.
   */
  /** Sleep between two quick tries. [H] RetryListeningSleepInterval */
  retryListeningSleepIntervalMs: 1_000,
  /** Tries in all, the first included (1: no quick retries). [H] RetryCountLimit */
  retryCountLimit: 5,
  /** No new quick try once this long has passed since the first. [H] ConnectionErrorRetryTimeout */
  connectionErrorRetryTimeoutMs: 300_000,
  /** Hard cap on one inflated message or data stream (a deflate bomb ends in a protocol error). pollfleet's own limit. */
  maxMessageBytes: 16 * 1024 * 1024,
} as const;

/** Reconnect back-off per polling connection: clamp(elapsed x (1 + random), min, max). [H] section 5 */
export const BACKOFF_DEFAULTS = {
  minMs: 5_000,
  maxMs: 120_000,
} as const;

/** external.healthChecks: real health-check tasks for the synthetic machines. pollfleet's own values. */
export const HEALTH_CHECK_TASK_DEFAULTS = {
  /** Open tasks are read back (GET /api/tasks/{id}) this often. */
  readIntervalMs: 2_000,
  /** At most this many task errors are kept for the report. */
  maxErrors: 5,
} as const;

/** Tentacle defaults. [H] sections 4 and 8 */
export const TENTACLE_DEFAULTS = {
  pollingConnectionCount: 1,
  /**
   * The Kubernetes agent's polling connections per server entry (the chart sets
   * TentaclePollingConnectionCount, which OctopusTentacle
   * source/Octopus.Tentacle/Communications/HalibutInitializer.cs reads and clamps to 1..8).
   */
  kubernetesAgentPollingConnectionCount: 5,
  maxPollingConnectionCount: 512,
  /** Script runs: GetStatus is polled from 300 ms x1.4 up to 5 s by the caller; our scripts finish in this long. */
  scriptRunMs: 200,
} as const;

/** Embedded cluster. */
export const CLUSTER_DEFAULTS = {
  nodes: 3,
  /** The real polling port series: 10943, 10944, ... (falls back to free ports when taken). */
  pollingPort: 10943,
  /** Loopback addresses for "one address per node": 127.0.0.11, .12, ... */
  directAddressBase: '127.0.0.11',
  spaceId: 'Spaces-1',
  /** Time a node process has to come up and report its ports. */
  nodeStartTimeoutMs: 20_000,
  /** Time a graceful stop may take before the process is killed. */
  nodeStopTimeoutMs: 10_000,
  /** Node events are sent to the orchestrator in batches this often. */
  eventFlushIntervalMs: 100,
  /** Graceful node stop: connections get this long to close (at their next NEXT, without END) before they are destroyed. */
  gracefulStopMs: 5_000,
  /** A queue checks expiry on one shared ticker every max(this, collection timeout / 20). */
  queueExpiryTickMinMs: 50,
  /**
   * Per-subscription connection cap of an embedded node (Halibut's
   * MaximumActiveTcpConnectionsPerPollingSubscription): null = no cap. A connection beyond it is
   * closed right after MX-SUBSCRIBER without a byte, like an untrusted certificate.
   */
  maxConnectionsPerSubscription: null as number | null,
  /** Embedded REST API rate limit (cluster.apiRateLimit): off by default; a node answers 429 with Retry-After beyond it. */
  apiRateLimit: null as { requestsPerSecond: number; burst: number } | null,
  /**
   * `real`: embedded nodes handle dead connections as a real node ([H] section 4: no read while
   * waiting, work on a dead connection lost after collection, refused connections reset);
   * `lenient`: the node pollfleet had before, for comparison (a named deviation in reports).
   */
  nodeBehaviour: 'real' as 'real' | 'lenient',
  /** Largest request body the embedded REST API accepts (a machine registration is well under 2 KiB); larger answers 413. */
  restMaxBodyBytes: 1024 * 1024,
  /** A REST API request (headers and body) must arrive within this time, else the connection is closed. */
  restRequestTimeoutMs: 30_000,
  /** Longest string field (Name, Roles, ids) a machine registration may carry. */
  restMaxFieldChars: 1_000,
  /** Most entries of an array field (EnvironmentIds, Roles) of a machine registration. */
  restMaxArrayItems: 100,
} as const;

/** A node's child process (src/cluster/node-process.ts). pollfleet's own values; no reference sets them. */
export const NODE_PROCESS_DEFAULTS = {
  /** After a failed start the process exits this much later, so its 'start-failed' message reaches the supervisor first. */
  exitAfterStartFailureMs: 50,
  /** After an internal error (unhandled rejection, uncaught exception) the process exits this much later, so its report reaches the supervisor first. */
  exitAfterInternalErrorMs: 50,
  /**
   * Memory settings a node process starts with: a 1 MiB young generation, and glibc malloc
   * giving blocks of 16 KiB and more back to the system (OpenSSL's per-record buffers are 16 KiB:
   * with the defaults they fragment the heap). Measured with bench/node-heap-hold.ts, 500
   * tentacles x 2 nodes: native memory 50-75 -> 45-47 KiB and RSS ~57 -> 55 KiB per held
   * connection. A GLIBC_TUNABLES the user set wins. Our simulation's footprint only: nothing a
   * node does changes.
   */
  v8Flags: ['--max-semi-space-size=1'],
  glibcTunables: 'glibc.malloc.mmap_threshold=16384:glibc.malloc.trim_threshold=65536',
} as const;

/** An internal error in the CLI process stops the run; if the clean shutdown (partial Result) hangs, the process exits this much later anyway. */
export const PROCESS_POLICY_DEFAULTS = {
  shutdownGraceMs: 30_000,
} as const;

/** Work the nodes queue: the probe whose pickup latency and expiry are measured. */
export const WORKLOAD_DEFAULTS = {
  intervalMs: 10_000,
  /** Share of probes that are a full StartScript / GetStatus / CompleteScript sequence instead of GetCapabilities. */
  scriptShare: 0.1,
  /**
   * Each round is spread over the interval in this many slices, as real health checks and
   * deployments are not synchronised (1 = every probe at once, a burst).
   */
  spreadSlices: 20,
  /** GetStatus back-off of the caller: 300 ms, x1.4 each time, up to 5 s. [H] section 6 */
  scriptStatusBackoffMinMs: 300,
  scriptStatusBackoffFactor: 1.4,
  scriptStatusBackoffMaxMs: 5_000,
  /** A script sequence gives up after this many GetStatus calls (bounds the loop). */
  scriptStatusMaxPolls: 100,
  /**
   * Tasks (src/cluster/tasks/): relative weights of what a round starts. Mostly health checks,
   * some deployment steps, a few package uploads.
   */
  mix: { health: 0.8, deploy: 0.15, upload: 0.05 },
  /** Tasks per tentacle at once (a round tops each machine up to this). */
  concurrentTasksPerTentacle: 1,
  /** A deployment step's script runs this long on the tentacle. */
  scriptDurationMs: 1_000,
  /** A package upload's data stream (1 MiB: small enough for the default runs to stay fast). */
  uploadBytes: 1024 * 1024,
  /**
   * Tasks executing at once per node. Octopus's default task cap is 5, but one real health
   * check task covers many machines; here every machine gets its own task, so the cap is scaled.
   */
  taskCap: 500,
  /** Octopus caches GetCapabilities per machine for 10 minutes ([CacheResponse(600)]). */
  capabilitiesCacheMs: 600_000,
} as const;

/** Fleet. */
export const FLEET_DEFAULTS = {
  tentacles: 50,
  rampUpMs: 5_000,
  /** RSA-2048 key generation costs ~50-100 ms; tentacles share this many key pairs, each with its own certificate (own thumbprint). */
  keyPairs: 8,
  registrationConcurrency: 16,
  /** fleet.workers: 1 = the single-threaded fleet; `auto` = one worker thread per this many tentacles (src/plan/worker-count.ts). */
  workers: 1,
  tentaclesPerWorker: 2_500,
  /** A worker sends its events to the main thread at least this often, or sooner once this many are waiting. pollfleet's own values. */
  workerBatchMs: 20,
  workerBatchEvents: 1_000,
  /** A worker has this long to start, or to stop its tentacles (END on every connection) and answer; then it is an internal error. */
  workerStartTimeoutMs: 15_000,
  workerStopTimeoutMs: 15_000,
} as const;

/** Measurement. */
export const METRICS_DEFAULTS = {
  /** A pair whose last poll is older than this is not covered. */
  stalenessMs: 60_000,
  timelineIntervalMs: 1_000,
  /** Pickup latency histogram range (microseconds), 3 significant digits. */
  histogramMaxUs: 3_600_000_000,
} as const;

/**
 * Harness self-check (src/metrics/harness-monitor.ts): the fleet process's event-loop delay
 * and CPU share. Above either limit its timings are not to be trusted (a "harness
 * saturated" warning in the diagnosis; `pollfleet check` also fails on the loop delay).
 */
export const HARNESS_DEFAULTS = {
  /** Event-loop delay sampling resolution (perf_hooks.monitorEventLoopDelay). */
  loopResolutionMs: 10,
  /** The fleet's loop-delay p99 above this: saturated. Also check's default threshold. */
  loopDelayP99LimitMs: 50,
  /** The fleet's CPU share of one core above this: saturated. */
  cpuShareLimit: 0.9,
} as const;

/** Run. */
export const RUN_DEFAULTS = {
  durationMs: 30_000,
  /**
   * Against a real cluster: an idle node sends a tentacle its first message only when its
   * polling queue wait (30 s) runs out, so a run must outlast it with room for the ramp --
   * 30 s ended with the last tentacles' first message still due.
   */
  externalDurationMs: 60_000,
  /** External runs shorter than the queue wait plus this are warned about (the last tentacles may see no message). */
  externalDurationSlackMs: 15_000,
  /** Non-TTY progress line interval. */
  progressIntervalMs: 5_000,
  /** After the duration: how long to let connections close with END. */
  drainMs: 3_000,
  /**
   * Embedded runs: after ramp-up the last tentacles get one handshake's worth of time
   * (at most this long, at most pollingQueueWait) before the steady phase counts.
   */
  settleMaxMs: 2_000,
} as const;

/** AWS NLB-like layer-4 balancer. [LB] */
export const NLB_DEFAULTS = {
  idleTimeoutMs: 350_000,
  healthCheckIntervalMs: 30_000,
  healthCheckTimeoutMs: 10_000,
  healthCheckHttpTimeoutMs: 6_000,
  healthyThreshold: 5,
  unhealthyThreshold: 2,
  deregistrationDelayMs: 300_000,
} as const;

/** AWS ALB-like layer-7 balancer. [LB] */
export const ALB_DEFAULTS = {
  idleTimeoutMs: 60_000,
  healthCheckIntervalMs: 30_000,
  healthCheckTimeoutMs: 5_000,
  healthyThreshold: 5,
  unhealthyThreshold: 2,
  deregistrationDelayMs: 300_000,
} as const;

/** The node health endpoint balancers probe. [H] section 8 */
export const PING_PATH = '/api/octopusservernodes/ping';

/**
 * Real HAProxy / nginx processes pollfleet starts as balancers. [LB] HAProxy row: in tcp
 * mode there is no idle timeout unless one is set, and a short one closes idle polling
 * connections -- so the tcp timeouts default to one hour (like Envoy's TCP proxy).
 */
export const REAL_BALANCER_DEFAULTS = {
  connectTimeoutMs: 5_000,
  clientTimeoutMs: 3_600_000,
  serverTimeoutMs: 3_600_000,
  tunnelTimeoutMs: 3_600_000,
  /** Sized for thousands of polling connections (each uses two descriptors in the balancer). */
  maxConnections: 20_000,
  /** `haproxy -c` / `nginx -t` may take this long. */
  configCheckTimeoutMs: 15_000,
  /** From spawn until every frontend port accepts a connection. */
  startTimeoutMs: 15_000,
  /** Between readiness probes while starting. */
  readinessProbeIntervalMs: 50,
  /** One readiness probe (a TCP connect to a frontend port) may take this long. pollfleet's own value. */
  readinessProbeConnectTimeoutMs: 500,
  /** When the program exits while starting: wait this long for the rest of its output (for the error). pollfleet's own value. */
  exitOutputWaitMs: 200,
  /** After SIGTERM, SIGKILL follows when the process is still there after this long. */
  stopTimeoutMs: 5_000,
  /** How much of the balancer's own output is kept for errors and logTail(). */
  logTailBytes: 64 * 1024,
} as const;

/**
 * Route kind proxy: an HTTP CONNECT proxy (pollfleet's simulator or real Squid) on loopback.
 * [LB] "HTTP CONNECT proxy"; Halibut's HttpProxyClient waits 15 s for the proxy's answer.
 */
export const PROXY_DEFAULTS = {
  host: '127.0.0.1',
  /** Squid's `shutdown_lifetime`: how long it lets tunnels finish after SIGTERM (its own default is 30 s). */
  squidShutdownLifetimeMs: 1_000,
  /** From spawn until Squid accepts connections on its port. */
  squidStartTimeoutMs: 15_000,
  /** After SIGTERM, SIGKILL follows when Squid is still there after this long. */
  squidStopTimeoutMs: 5_000,
  /** Between readiness probes while Squid starts. */
  readinessProbeIntervalMs: 100,
} as const;

/** Tentacle registration over the REST API and the polling-port check. [H] section 8 */
/**
 * What an expired request costs in real Octopus. An expired (uncollected) request fails the
 * RPC; Octopus Server's Tentacle client retries a failed RPC for a while when RPC retries are
 * on (OctopusDeploy/OctopusTentacle source/Octopus.Tentacle.Client/Retries/RpcRetrySettings.cs:
 * the server passes the duration in; its default, about 2.5 min, is *unconfirmed* in public
 * source). A deployment step fails only when collection stays impossible longer than this.
 */
export const RPC_RETRY_DEFAULTS = {
  windowMs: 150_000,
} as const;

export const REGISTRATION_DEFAULTS = {
  /** Each REST call (and the POST /handshake port check): headers and body must arrive within this. */
  requestTimeoutMs: 30_000,
  /**
   * HTTP 429 (Octopus Server 2026.3+ rate-limits its REST API by default): wait as the
   * Retry-After header says, then try again -- at most this many times per call ...
   */
  throttleMaxRetries: 20,
  /** ... waiting at most this long per answer (a longer Retry-After is cut to this) ... */
  throttleMaxWaitMs: 60_000,
  /** ... and this long when a 429 carries no (readable) Retry-After. */
  throttleDefaultWaitMs: 1_000,
  /** The polling-port check (POST /handshake) is tried this many times before registration gives up ... */
  portCheckAttempts: 3,
  /** ... this long apart. */
  portCheckRetryDelayMs: 1_000,
  /** Environments are read page by page (Links["Page.Next"]); at most this many pages (a loop guard). */
  maxPages: 1_000,
  /**
   * A REST answer larger than this is refused, not buffered: the pages pollfleet reads are a
   * few KiB to a few MiB (a page of machines); a captive portal, a misrouted download or a
   * hostile server streaming without end must not grow the fleet process without bound.
   */
  maxResponseBytes: 64 * 1024 * 1024,
} as const;

/** Scheduled checks (`pollfleet check`) and their outputs. */
export const CHECK_DEFAULTS = {
  /** The run history (SQLite) a check appends to and `pollfleet history` reads. */
  historyFile: 'reports/history.sqlite',
  /** Pushing metrics.prom to a Pushgateway: connect to last byte. */
  pushgatewayTimeoutMs: 10_000,
} as const;

/** Safety rails for real (external) targets: lifted only by --i-understand-load or external.allowLoad. */
export const EXTERNAL_SAFETY_DEFAULTS = {
  /** Largest fleet sent at a real cluster by default. */
  maxTentacles: 50,
  /** Most polling connections (tentacles x nodes x pollingConnectionCount) by default. */
  maxConnections: 500,
  /** Synthetic registrations per second, by default and at most without allowLoad. */
  registrationsPerSecond: 2,
  maxRegistrationsPerSecond: 5,
  /** Longest run (ramp-up + duration) by default. */
  maxDurationMs: 3_600_000,
  /** Nodes an external scenario may list (an Octopus HA cluster has a handful); no Result has more. */
  maxNodes: 100,
} as const;

/** Synthetic registration against a real cluster. */
export const SYNTHETIC_REGISTRATION_DEFAULTS = {
  namePrefix: 'pollfleet-synthetic-',
  roles: ['pollfleet-synthetic'],
  /** The local list of created machines, so a dead run's machines are removed later. */
  ledgerFile: 'reports/.pollfleet-ledger.json',
  /** Parallel DELETEs while cleaning up. */
  deleteConcurrency: 4,
  /**
   * A registration whose answer was lost (the connection broke or timed out: no HTTP status)
   * is tried again at most this many times, the name looked up first (a machine the server
   * did create, with this tentacle's thumbprint, is adopted, never posted twice). pollfleet's
   * own: the synthetic machines are the run's set-up, not what it tests, so this is not a claim
   * about what `Tentacle register-with` does with a lost answer ...
   */
  lostAnswerRetries: 2,
  /** ... this long after the failed attempt (cut short when the run stops). */
  lostAnswerRetryDelayMs: 1_000,
} as const;

/** `pollfleet preflight`: every step is bounded by these. */
export const PREFLIGHT_DEFAULTS = {
  dnsTimeoutMs: 5_000,
  tcpConnectTimeoutMs: 5_000,
  tlsHandshakeTimeoutMs: 10_000,
  httpTimeoutMs: 10_000,
  /** A full MX-SUBSCRIBER / MX-SERVER identification. */
  identifyTimeoutMs: 15_000,
} as const;

/** Fault timeline (scenario `faults`). Toxiproxy's conventions for network faults. */
export const FAULT_DEFAULTS = {
  /** Share of connections a network fault hits (toxicity). */
  share: 1,
  /** Toxiproxy's default direction is downstream; pollfleet's faults hit both unless told. */
  direction: 'both' as 'upstream' | 'downstream' | 'both',
  /** Slice toxic: average piece size. */
  sliceBytes: 64,
  /** A fault proxy's connection to its node must be up within this. */
  proxyConnectTimeoutMs: 5_000,
} as const;

/** REST API load (the web / registration path), driven with autocannon. */
export const API_LOAD_DEFAULTS = {
  connections: 10,
  durationMs: 5_000,
  /** Bound on requests per load run, whatever the duration. */
  maxRequests: 50_000,
  path: '/api/Spaces-1/machines',
} as const;

/**
 * Route sni-passthrough: one address on 443, one SNI host name per node
 * (polling1.<domain>, polling2.<domain>, ... as the Octopus Helm chart's polling0., polling1.
 * ingress names), TLS passed through untouched. [LB] "Port 443 routed by SNI".
 */
export const SNI_DEFAULTS = {
  port: 443,
  domain: 'example.test',
  /** Host name prefix per node: polling1, polling2, ... (one-name layout: polling). */
  namePrefix: 'polling',
  /** How long the router waits for the whole ClientHello (HAProxy tcp-request inspect-delay). */
  inspectDelayMs: 5_000,
  /** A ClientHello larger than this is refused (the router reads no further). */
  maxClientHelloBytes: 16_384,
} as const;

/**
 * Balancer presets (route.preset): the documented defaults of each product. [LB] Azure: 4 min
 * idle, silent drop unless TCP reset; AWS NLB: 350 s, RST on the next packet; ALB: 60 s;
 * HAProxy/nginx: no idle timeout unless set (pollfleet's one hour).
 */
export const BALANCER_PRESET_DEFAULTS = {
  azureIdleTimeoutMs: 240_000,
  azureHealthCheckIntervalMs: 5_000,
  azureHealthCheckTimeoutMs: 5_000,
  azureUnhealthyThreshold: 2,
  gcpIdleTimeoutMs: 600_000,
  gcpHealthCheckIntervalMs: 5_000,
  gcpHealthCheckTimeoutMs: 5_000,
  gcpHealthyThreshold: 2,
  gcpUnhealthyThreshold: 2,
} as const;

/**
 * The Redis pending-request queue (multi-node polling across node processes), after Halibut's
 * (OctopusDeploy/Halibut docs/RedisQueue.md, source/Halibut/Queue/Redis/): heartbeats per
 * request both ways, the response stored and announced, every operation retried, data loss
 * detected with a marker key. [H] section 4 "Multi-node polling".
 */
export const REDIS_QUEUE_DEFAULTS = {
  /** Both roles publish a heartbeat per in-flight request this often. Halibut NodeHeartBeatSender */
  heartbeatIntervalMs: 15_000,
  /** ... the first one this long after collection. Halibut HeartBeatInitialDelay */
  heartbeatInitialDelayMs: 7_000,
  /** The sender fails a collected request when the processing node sent no heartbeat for this long (retryable in Halibut). */
  senderGivesUpAfterMs: 60_000,
  /** The processing node abandons a request when its sender sent no heartbeat for this long. */
  processorGivesUpAfterMs: 90_000,
  /** A stored response lives this long in Redis. */
  responseTtlMs: 20 * 60_000,
  /** The sender also polls for the stored response: first after this, then +step each time, at most max. Halibut PollAndSubscribeToResponse */
  responsePollFirstMs: 15_000,
  responsePollStepMs: 15_000,
  responsePollMaxMs: 120_000,
  /** Every Redis operation is retried for this long before it fails. Halibut RedisFacade */
  operationRetryWindowMs: 30_000,
  /** Pause between two tries of one operation. pollfleet's own value. */
  operationRetryIntervalMs: 250,
  /** One try of a command gives up after this (a paused Redis answers nothing). pollfleet's own value. */
  commandTimeoutMs: 5_000,
  /** A Redis error while dequeuing drops the tentacle's connection after a random 0..this. Halibut RedisPendingRequestQueue */
  dequeueErrorDropMaxMs: 30_000,
  /** The data-loss marker key is checked this often. Halibut WatchForRedisLosingAllItsData */
  dataLossCheckIntervalMs: 60_000,
  /** ... and lives this long without a check. */
  dataLossMarkerTtlMs: 8 * 3_600_000,
  /** node-redis reconnects: min(retries x step, max). */
  reconnectStepMs: 100,
  reconnectMaxMs: 2_000,
  /** Connecting at start-up must succeed within this (an unreachable Redis is an environment error). */
  connectTimeoutMs: 20_000,
};
export type RedisQueueSettings = typeof REDIS_QUEUE_DEFAULTS;

/** A redis-server pollfleet starts itself (src/cluster/redis/redis-server.ts). pollfleet's own values. */
export const REDIS_SERVER_DEFAULTS = {
  startTimeoutMs: 5_000,
  pingTimeoutMs: 500,
  pingIntervalMs: 50,
} as const;
