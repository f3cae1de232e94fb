import type { ApiRateLimit } from './rest-api-rate-limit.js';
import { now } from '../core/clock.js';
import { PollfleetError } from '../core/errors.js';
import type { EventSink, NodeStateEvent } from '../core/events.js';
import type { CertificateIdentity } from '../pki/index.js';
import { CLUSTER_DEFAULTS, WORKLOAD_DEFAULTS } from '../scenario/defaults.js';
import { PollingListener, type NodeBehaviour } from './polling-listener.js';
import type { MachineRegistry } from './machine-registry.js';
import { RestApi, type RedisStatus } from './rest-api.js';
import type { ServerNodeState } from './rest-api-server-nodes.js';
import { WebSocketEndpoint, type WebSocketEndpointOptions } from './websocket-endpoint.js';
import type { WorkQueue } from './work-queue.js';
import { Workload, type ProbeKind, type ProbeResult } from './workload.js';
import type { WorkloadTaskSettings } from './tasks/server-task.js';

/** Protocol timings of a node; every one a named setting (src/scenario/defaults.ts PROTOCOL_DEFAULTS). */
export interface NodeProtocolSettings {
  pollingQueueWaitMs: number;
  pollingRequestQueueTimeoutMs: number;
  receiveResponseTimeoutMs: number;
  receiveTimeoutMs: number;
  heartbeatTimeoutMs: number;
  keepAliveInitialDelayMs: number;
  maxMessageBytes: number;
  /** ServiceEndPoint fields sent in every request. */
  retryListeningSleepIntervalMs: number;
  retryCountLimit: number;
  connectionErrorRetryTimeoutMs: number;
  connectTimeoutMs: number;
}

export interface ClusterNodeOptions {
  name: string;
  /** The cluster's shared server certificate (HA nodes share one). */
  certificate: CertificateIdentity;
  polling: { host: string; port: number };
  api: { host: string; port: number; https?: boolean };
  /** A secret: never logged. */
  apiKey: string;
  spaceId: string;
  registry: MachineRegistry;
  queue: WorkQueue;
  protocol: NodeProtocolSettings;
  /** Per-subscription connection cap on the polling port; null or unset = no cap. */
  maxConnectionsPerSubscription?: number | null;
  /** REST API rate limit (429 with Retry-After beyond it); null or unset = none. */
  apiRateLimit?: ApiRateLimit | null;
  /** How the node handles dead connections (src/cluster/polling-listener.ts); default `real`. */
  nodeBehaviour?: NodeBehaviour;
  workload: {
    intervalMs: number;
    scriptShare: number;
    enabled: boolean;
    scriptStatusBackoffMinMs?: number;
    scriptStatusBackoffFactor?: number;
    scriptStatusBackoffMaxMs?: number;
    scriptStatusMaxPolls?: number;
    tasks?: Partial<WorkloadTaskSettings>;
  };
  redisStatus?: RedisStatus;
  sink: EventSink;
  /** Graceful stop: how long connections get to close (a polling node never sends END: it closes at the next NEXT). Default CLUSTER_DEFAULTS.gracefulStopMs. */
  gracefulStopMs?: number;
  /** Sees every WebSocket frame of polling over WebSockets (diagnostics and tests). */
  observeWebSocketFrame?: WebSocketEndpointOptions['observeFrame'];
  /** Root document fields shared by the cluster's nodes. */
  version?: string;
  installationId?: string;
  /** The cluster's server nodes for GET /api/octopusservernodes (this node's own drain state is its own); default: itself alone. */
  serverNodes?: () => ServerNodeState[];
}

export interface NodeStats {
  /** Open polling connections (TLS up). */
  connections: number;
  /** Subscriptions with at least one identified connection. */
  identifiedSubscriptions: number;
  /** Requests waiting to be collected in the node's queue (all subscriptions of a shared queue). */
  queueSize: number;
  /** Messages written to subscribers (requests and null messages). */
  pollsSent: number;
  isDraining: boolean;
}

type State = 'new' | 'starting' | 'up' | 'stopping' | 'stopped';

/**
 * One simulated Octopus Server node: a polling listener, the REST API subset, and the
 * workload that queues probes, over a MachineRegistry and a WorkQueue it is given (its own
 * queue, or one shared by the cluster). Emits `node-state` events: `up`, `draining` / `up`
 * (drain off), `stopping`, `stopped`; `crashed` for destroy().
 */
export class ClusterNode {
  readonly name: string;
  readonly #o: ClusterNodeOptions;
  readonly #listener: PollingListener;
  readonly #api: RestApi;
  readonly #workload: Workload;
  #state: State = 'new';
  #draining = false;
  #stopPromise: Promise<void> | null = null;

  constructor(o: ClusterNodeOptions) {
    this.name = o.name;
    this.#o = o;
    const p = o.protocol;
    this.#listener = new PollingListener({
      nodeName: o.name,
      certificate: o.certificate,
      host: o.polling.host,
      port: o.polling.port,
      registry: o.registry,
      queue: o.queue,
      sink: o.sink,
      session: {
        pollingQueueWaitMs: p.pollingQueueWaitMs,
        receiveResponseTimeoutMs: p.receiveResponseTimeoutMs,
        receiveTimeoutMs: p.receiveTimeoutMs,
        heartbeatTimeoutMs: p.heartbeatTimeoutMs,
        maxMessageBytes: p.maxMessageBytes,
      },
      keepAliveInitialDelayMs: p.keepAliveInitialDelayMs,
      maxConnectionsPerSubscription: o.maxConnectionsPerSubscription ?? null,
      nodeBehaviour: o.nodeBehaviour ?? 'real',
    });
    const api: ConstructorParameters<typeof RestApi>[0] = {
      nodeName: o.name,
      host: o.api.host,
      port: o.api.port,
      apiKey: o.apiKey,
      spaceId: o.spaceId,
      registry: o.registry,
      serverThumbprint: o.certificate.thumbprint,
      isDraining: () => this.#draining,
      // Nodes sharing the certificate share the installation id, as one cluster's nodes do.
      installationId: o.installationId ?? installationIdFor(o.certificate.thumbprint),
      serverNodes: () => {
        const self: ServerNodeState = { name: o.name, isDraining: this.#draining, isOnline: true };
        const all = o.serverNodes?.() ?? [];
        return all.some((n) => n.name === o.name) ? all.map((n) => (n.name === o.name ? { ...n, ...self } : n)) : [self, ...all];
      },
    };
    if (o.api.https) {
      api.httpsCertificate = o.certificate;
      // Polling over WebSockets lives on the HTTPS API: wss://node:443/OctopusComms.
      const endpoint = new WebSocketEndpoint({
        maxFramePayload: p.maxMessageBytes,
        serve: (channel) => this.#listener.serve(channel),
        ...(o.observeWebSocketFrame ? { observeFrame: o.observeWebSocketFrame } : {}),
      });
      api.upgrade = endpoint.handleUpgrade;
      api.webSocketPage = endpoint.handlePlainRequest;
    }
    if (o.redisStatus) api.redisStatus = o.redisStatus;
    if (o.apiRateLimit) api.rateLimit = o.apiRateLimit;
    api.tasks = { startHealthCheck: (subs, ids) => this.#workload.startTask('health', subs, { machineIds: ids }), get: (id) => this.#workload.tasks.get(id) };
    if (o.version) api.version = o.version;
    this.#api = new RestApi(api);
    const w = o.workload;
    this.#workload = new Workload({
      nodeName: o.name,
      queue: o.queue,
      registry: o.registry,
      settings: {
        intervalMs: w.intervalMs,
        scriptShare: w.scriptShare,
        enabled: w.enabled,
        scriptStatusBackoffMinMs: w.scriptStatusBackoffMinMs ?? WORKLOAD_DEFAULTS.scriptStatusBackoffMinMs,
        scriptStatusBackoffFactor: w.scriptStatusBackoffFactor ?? WORKLOAD_DEFAULTS.scriptStatusBackoffFactor,
        scriptStatusBackoffMaxMs: w.scriptStatusBackoffMaxMs ?? WORKLOAD_DEFAULTS.scriptStatusBackoffMaxMs,
        scriptStatusMaxPolls: w.scriptStatusMaxPolls ?? WORKLOAD_DEFAULTS.scriptStatusMaxPolls,
        ...(w.tasks ? { tasks: w.tasks } : {}),
      },
      endpoint: {
        pollingRequestQueueTimeoutMs: p.pollingRequestQueueTimeoutMs,
        retryListeningSleepIntervalMs: p.retryListeningSleepIntervalMs,
        retryCountLimit: p.retryCountLimit,
        connectionErrorRetryTimeoutMs: p.connectionErrorRetryTimeoutMs,
        tcpClientConnectTimeoutMs: p.connectTimeoutMs,
      },
      isPaused: () => this.#draining,
      sink: o.sink,
    });
  }

  /** Listen on the polling port and the API port; resolves with the ports actually bound. */
  async start(): Promise<{ pollingPort: number; apiPort: number }> {
    if (this.#state !== 'new') throw new PollfleetError('internal', `node ${this.name} was already started`);
    this.#state = 'starting';
    try {
      const pollingPort = await this.#listener.listen();
      const apiPort = await this.#api.listen();
      this.#state = 'up';
      this.#emit('up');
      this.#workload.start();
      return { pollingPort, apiPort };
    } catch (e) {
      this.#listener.destroyAll();
      this.#api.destroy();
      this.#state = 'stopped';
      throw e;
    }
  }

  /** Graceful: no more probes, every connection closed at its next NEXT (no END, as a real polling node), then close. Idempotent. */
  stop(): Promise<void> {
    this.#stopPromise ??= this.#stop();
    return this.#stopPromise;
  }

  async #stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    this.#emit('stopping');
    this.#workload.stop();
    const timeoutMs = this.#o.gracefulStopMs ?? CLUSTER_DEFAULTS.gracefulStopMs;
    await Promise.all([this.#listener.stop(timeoutMs), this.#api.close(timeoutMs)]);
    if ((this.#state as State) === 'stopped') return; // destroyed meanwhile
    this.#state = 'stopped';
    this.#emit('stopped');
  }

  /** Close everything at once, no END (a crash; `reset` sends TCP RSTs as a dead process's kernel would). */
  destroy(o: { reset?: boolean } = {}): void {
    if (this.#state === 'stopped') return;
    this.#workload.stop();
    this.#listener.destroyAll(o);
    this.#api.destroy();
    this.#state = 'stopped';
    this.#stopPromise ??= Promise.resolve();
    this.#emit('crashed');
  }

  /** Drain mode: ping answers 418 and no new probes are queued; connections keep being served. */
  setDraining(on: boolean): void {
    if (this.#draining === on) return;
    this.#draining = on;
    if (this.#state === 'up') this.#emit(on ? 'draining' : 'up');
  }

  /** The node's workload and its tasks (src/cluster/tasks/). */
  get workload(): Workload {
    return this.#workload;
  }

  get isDraining(): boolean {
    return this.#draining;
  }

  /** Queue one probe for a subscription now (tests, faults). */
  probe(subscription: string, kind: ProbeKind = 'capabilities'): Promise<ProbeResult> {
    return this.#workload.probe(subscription, kind);
  }

  /** Run one workload round now (one probe per registered machine, unless draining). */
  tick(): void {
    this.#workload.tick();
  }

  stats(): NodeStats {
    return {
      connections: this.#listener.connections,
      identifiedSubscriptions: this.#listener.connectedSubscriptions().size,
      queueSize: this.#o.queue.size(),
      pollsSent: this.#listener.pollsSent,
      isDraining: this.#draining,
    };
  }

  /** Identified connections per subscription. */
  connectedSubscriptions(): ReadonlyMap<string, number> {
    return this.#listener.connectedSubscriptions();
  }

  #emit(state: NodeStateEvent['state']): void {
    this.#o.sink({ type: 'node-state', at: now(), node: this.name, state });
  }
}

/** A stable GUID-shaped id derived from the cluster certificate's thumbprint. */
function installationIdFor(thumbprint: string): string {
  const h = thumbprint.toLowerCase().padEnd(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
