import type { ApiRateLimit } from './rest-api-rate-limit.js';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { EventSink, NodeEvent } from '../core/events.js';
import type { CertificateIdentity } from '../pki/certificate.js';
import { CLUSTER_DEFAULTS, NODE_PROCESS_DEFAULTS, type RedisQueueSettings } from '../scenario/defaults.js';
import type { ProtocolSettings } from '../scenario/resolve.js';
import { PollfleetError } from '../core/errors.js';
import { Lifecycle } from '../core/lifecycle.js';
import { now } from '../core/clock.js';
import { forkModule, siblingModule } from '../core/child-module.js';
import type { FromNode, NodeProcessConfig, ToNode } from './ipc.js';
import type { NodeBehaviour } from './polling-listener.js';
import { LocalQueue } from './local-queue.js';
import { MemoryRegistry } from './memory-machine-registry.js';
import type { Machine } from './machine-registry.js';
import type { ServerNodeState } from './rest-api-server-nodes.js';
import { startNodeInProcess, type InProcessNode } from './node-process.js';
import type { WorkloadTaskSettings } from './tasks/server-task.js';

export interface EmbeddedNodeSpec {
  name: string;
  polling: { host: string; port: number };
  api: { host: string; port: number };
}

export interface EmbeddedClusterOptions {
  nodes: EmbeddedNodeSpec[];
  /** The cluster's server certificate: HA nodes share one (it lives in the shared database). */
  certificate: CertificateIdentity;
  apiKey: string;
  spaceId: string;
  apiHttps: boolean;
  protocol: ProtocolSettings;
  workload: { intervalMs: number; scriptShare: number; enabled: boolean; tasks?: Partial<WorkloadTaskSettings> };
  queue: 'per-node' | 'shared' | 'redis';
  redisUrl: string | null;
  /** queue: redis without redisUrl: starts the cluster's own Redis (src/environment/embedded/embedded-redis.ts). */
  startRedis?: () => Promise<EmbeddedRedis>;
  /** Redis queue timings; unset = REDIS_QUEUE_DEFAULTS. */
  redisQueue?: Partial<RedisQueueSettings>;
  /** One process per node (real crash/hang faults) or all nodes in this process. */
  processes: boolean;
  /** Per-subscription connection cap of every node; null or unset = no cap. */
  maxConnectionsPerSubscription?: number | null;
  /** REST API rate limit of every node (429 with Retry-After beyond it); null or unset = none. */
  apiRateLimit?: ApiRateLimit | null;
  /** How the nodes handle dead connections; default `real`. */
  nodeBehaviour?: NodeBehaviour;
  sink: EventSink;
}

/**
 * The Redis an embedded cluster started for its queue: a redis-server and a fault proxy the
 * nodes reach it through (satisfies FaultRedis, src/faults/fault-context.ts).
 */
export interface EmbeddedRedis {
  /** What the nodes connect to (the fault proxy). */
  readonly url: string;
  /** The fault proxy in front of it (a FaultProxy; the cluster only hands it to Redis faults). */
  readonly proxy: {
    addToxic(kind: unknown, params: unknown, options: unknown): number;
    removeToxic(id: number): void;
    resetConnections(share?: number): number;
  };
  restart(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  pause(on: boolean): void;
  stop(): Promise<void>;
}

export interface RunningNode {
  name: string;
  pollingHost: string;
  pollingPort: number;
  apiUrl: string;
  pid: number | null;
}

interface NodeSlot {
  spec: EmbeddedNodeSpec;
  child: ChildProcess | null;
  inProcess: InProcessNode | null;
  running: RunningNode | null;
  state: 'starting' | 'up' | 'stopped' | 'crashed' | 'hung';
}

/**
 * The embedded HA cluster: N simulated nodes sharing one machine registry (the "database",
 * held here), each in its own process by default, with a control channel for faults.
 * start() brings every node up (a failure stops the ones that came up); stop() stops them
 * all; after stop(), starting a node again is refused (core/lifecycle.ts).
 */
export class EmbeddedCluster extends Lifecycle<RunningNode[]> {
  readonly name = 'embedded cluster';
  readonly registry = new MemoryRegistry();
  #o: EmbeddedClusterOptions;
  #slots = new Map<string, NodeSlot>();
  /** Multi-node polling in one process: the one queue every node serves from. */
  #sharedQueue: LocalQueue | null = null;
  /** Namespace of this cluster's keys in a shared Redis (parallel runs never collide). */
  readonly #namespace = randomBytes(6).toString('hex');
  /** The cluster's server nodes as its "database" knows them (GET /api/octopusservernodes on every node). */
  readonly #serverNodes: ServerNodeState[];
  /** queue: redis without a redisUrl: the redis-server this cluster started (behind a fault proxy). */
  #redis: EmbeddedRedis | null = null;

  constructor(o: EmbeddedClusterOptions) {
    super();
    this.#o = o;
    for (const spec of o.nodes) this.#slots.set(spec.name, { spec, child: null, inProcess: null, running: null, state: 'stopped' });
    this.#serverNodes = o.nodes.map((n) => ({ name: n.name, isDraining: false, isOnline: false }));
    if (o.queue === 'shared') {
      if (o.processes) throw new PollfleetError('input.invalid', 'a shared in-memory queue needs the nodes in one process (processes: false)');
      this.#sharedQueue = new LocalQueue({ sink: o.sink, race: (o.nodeBehaviour ?? 'real') === 'real' });
    }
  }

  get nodes(): RunningNode[] {
    return [...this.#slots.values()].map((s) => s.running).filter((r): r is RunningNode => r !== null);
  }

  /** The node is running and answering (not stopped, crashed or hung). */
  isUp(name: string): boolean {
    return this.#slots.get(name)?.state === 'up';
  }

  /** The redis-server this cluster started, for Redis faults (null when it uses the user's Redis or none). */
  get redis(): EmbeddedRedis | null {
    return this.#redis;
  }

  protected async onStart(): Promise<RunningNode[]> {
    if (this.#o.queue === 'redis' && !this.#o.redisUrl) {
      if (!this.#o.startRedis) throw new PollfleetError('input.invalid', 'queue: redis needs cluster.redisUrl (e.g. redis://127.0.0.1:6379)');
      this.#redis = await this.#o.startRedis();
    }
    await Promise.all([...this.#slots.keys()].map((name) => this.startNode(name)));
    return this.nodes;
  }

  #config(slot: NodeSlot): NodeProcessConfig {
    const o = this.#o;
    return {
      name: slot.spec.name,
      certPem: o.certificate.certPem,
      keyPem: o.certificate.keyPem,
      polling: slot.running ? { host: slot.running.pollingHost, port: slot.running.pollingPort } : slot.spec.polling,
      api: { host: slot.spec.api.host, port: slot.running ? Number(new URL(slot.running.apiUrl).port) : slot.spec.api.port, https: o.apiHttps },
      apiKey: o.apiKey,
      spaceId: o.spaceId,
      protocol: o.protocol,
      workload: o.workload,
      queue: o.queue,
      redisUrl: this.#redis?.url ?? o.redisUrl,
      queueNamespace: this.#namespace,
      eventFlushIntervalMs: CLUSTER_DEFAULTS.eventFlushIntervalMs,
      machines: this.registry.list(o.spaceId),
      maxConnectionsPerSubscription: o.maxConnectionsPerSubscription ?? null,
      // In process the array itself (updated in place); a node process gets a copy and `server-nodes` messages.
      serverNodes: this.#serverNodes,
      apiRateLimit: o.apiRateLimit ?? null,
      ...(o.redisQueue ? { redisQueue: o.redisQueue } : {}),
      nodeBehaviour: o.nodeBehaviour ?? 'real',
    };
  }

  #running(slot: NodeSlot, pollingPort: number, apiPort: number, pid: number | null): RunningNode {
    const scheme = this.#o.apiHttps ? 'https' : 'http';
    return { name: slot.spec.name, pollingHost: slot.spec.polling.host, pollingPort, apiUrl: `${scheme}://${slot.spec.api.host}:${apiPort}`, pid };
  }

  /** Start (or restart, on the same ports) one node. */
  async startNode(name: string): Promise<RunningNode> {
    this.refuseAfterStop(`startNode ${name}`);
    const slot = this.#slot(name);
    if (slot.state === 'up' || slot.state === 'starting') return slot.running!;
    slot.state = 'starting';
    const config = this.#config(slot);
    if (!this.#o.processes) {
      slot.inProcess = await startNodeInProcess(config, this.registry, this.#o.sink, this.#sharedQueue ?? undefined).catch((e) => {
        slot.state = 'stopped';
        throw this.#startError(name, config, (e as Error).message, (e as NodeJS.ErrnoException).code);
      });
      slot.running = this.#running(slot, slot.inProcess.pollingPort, slot.inProcess.apiPort, null);
      slot.state = 'up';
      this.#setServerNode(name, { isOnline: true });
      return slot.running;
    }
    const child = forkModule(siblingModule(import.meta.url, 'node-process'), [], {
      execArgv: NODE_PROCESS_DEFAULTS.v8Flags,
      env: process.env['GLIBC_TUNABLES'] ? {} : { GLIBC_TUNABLES: NODE_PROCESS_DEFAULTS.glibcTunables },
    });
    slot.child = child;
    const ready = new Promise<{ pollingPort: number; apiPort: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.#startError(name, config, `no answer within ${CLUSTER_DEFAULTS.nodeStartTimeoutMs} ms`)), CLUSTER_DEFAULTS.nodeStartTimeoutMs);
      child.on('message', (m: FromNode) => {
        if (m.t === 'ready') {
          clearTimeout(timer);
          resolve(m);
        } else if (m.t === 'start-failed') {
          clearTimeout(timer);
          reject(this.#startError(name, config, m.message, m.code));
        }
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(this.#startError(name, config, `the node process exited (${sig ?? code})`));
      });
    });
    child.on('message', (m: FromNode) => this.#onMessage(slot, child, m));
    child.on('exit', () => {
      if (slot.child === child) {
        slot.child = null;
        if (slot.state === 'up' || slot.state === 'hung') slot.state = 'crashed';
      }
    });
    this.#send(child, { t: 'init', config });
    try {
      const { pollingPort, apiPort } = await ready;
      slot.running = this.#running(slot, pollingPort, apiPort, child.pid ?? null);
      slot.state = 'up';
      this.#setServerNode(name, { isOnline: true });
      return slot.running;
    } catch (e) {
      slot.state = 'stopped';
      child.kill('SIGKILL');
      throw e;
    }
  }

  #startError(name: string, config: NodeProcessConfig, why: string, code?: string): PollfleetError {
    const inUse = code === 'EADDRINUSE';
    return new PollfleetError('environment.failed', `${name} could not start on ${config.polling.host}:${config.polling.port}: ${why}`, {
      node: name,
      address: `${config.polling.host}:${config.polling.port}`,
      hint: inUse ? 'the port is taken: set cluster.pollingPort: 0 (any free port) or another port in the scenario' : undefined,
    });
  }

  #send(child: ChildProcess, m: ToNode): void {
    if (child.connected) child.send(m);
  }

  /** Record a node's state in the server-node table and tell every node process. */
  #setServerNode(name: string, change: Partial<ServerNodeState>): void {
    const n = this.#serverNodes.find((x) => x.name === name);
    if (n) Object.assign(n, change);
    this.#broadcast({ t: 'server-nodes', nodes: this.#serverNodes });
  }

  #broadcast(m: ToNode): void {
    for (const s of this.#slots.values()) if (s.child) this.#send(s.child, m);
  }

  #onMessage(slot: NodeSlot, child: ChildProcess, m: FromNode): void {
    switch (m.t) {
      case 'events':
        for (const e of m.events as NodeEvent[]) this.#o.sink(e);
        return;
      case 'register':
        this.registry.register(m.machine).then(
          (machine: Machine) => {
            this.#broadcast({ t: 'machine-added', machine });
            this.#send(child, { t: 'reply', reqId: m.reqId, ok: true, value: machine });
          },
          (e: Error) => this.#send(child, { t: 'reply', reqId: m.reqId, ok: false, error: e.message }),
        );
        return;
      case 'delete':
        this.registry.delete(m.spaceId, m.id).then((ok) => {
          if (ok) this.#broadcast({ t: 'machine-deleted', spaceId: m.spaceId, id: m.id });
          this.#send(child, { t: 'reply', reqId: m.reqId, ok: true, value: ok });
        });
        return;
      case 'ready':
      case 'start-failed':
      case 'stopped':
      case 'internal-error': // the node also sent its 'crashed' state event; the exit marks the slot
        return;
    }
    void slot;
  }

  #slot(name: string): NodeSlot {
    const s = this.#slots.get(name);
    if (!s) throw new PollfleetError('input.invalid', `no node named ${name} (nodes: ${[...this.#slots.keys()].join(', ')})`);
    return s;
  }

  /** Drain mode: ping answers 418, existing connections keep being served. */
  setDraining(name: string, on: boolean): void {
    const s = this.#slot(name);
    this.#setServerNode(name, { isDraining: on });
    if (s.inProcess) s.inProcess.node.setDraining(on);
    else if (s.child) this.#send(s.child, { t: 'drain', on });
    this.#o.sink({ type: 'node-state', at: now(), node: name, state: on ? 'draining' : 'up' });
  }

  /** Graceful stop: every connection closed at its next NEXT (a real polling node never sends END). */
  async stopNode(name: string): Promise<void> {
    const s = this.#slot(name);
    this.#setServerNode(name, { isOnline: false });
    if (s.inProcess) {
      await s.inProcess.stop();
      s.inProcess = null;
      s.state = 'stopped';
      return;
    }
    const child = s.child;
    if (!child) {
      s.state = 'stopped';
      return;
    }
    if (s.state === 'hung') child.kill('SIGCONT');
    s.state = 'stopped';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.#send(child, { t: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), CLUSTER_DEFAULTS.nodeStopTimeoutMs);
    await exited;
    clearTimeout(timer);
    s.child = null;
  }

  /** SIGKILL the node process: the kernel closes its sockets (a crash). */
  crash(name: string): void {
    const s = this.#slot(name);
    if (!s.child) throw new PollfleetError('input.invalid', `${name} is not running in its own process; crash needs cluster.processes: true`);
    s.state = 'crashed';
    this.#setServerNode(name, { isOnline: false });
    s.child.kill('SIGKILL');
    this.#o.sink({ type: 'node-state', at: now(), node: name, state: 'crashed' });
  }

  /** SIGSTOP (hang) / SIGCONT (resume): half-open connections, detection only by timeouts. */
  hang(name: string, on: boolean): void {
    const s = this.#slot(name);
    if (!s.child) throw new PollfleetError('input.invalid', `${name} is not running in its own process; hang needs cluster.processes: true`);
    s.child.kill(on ? 'SIGSTOP' : 'SIGCONT');
    s.state = on ? 'hung' : 'up';
    this.#o.sink({ type: 'node-state', at: now(), node: name, state: on ? 'hung' : 'resumed' });
  }

  protected async onStop(): Promise<void> {
    await Promise.all([...this.#slots.keys()].map((n) => this.stopNode(n).catch(() => undefined)));
    await this.#sharedQueue?.close();
    await this.#redis?.stop();
  }
}
