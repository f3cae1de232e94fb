import { X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { now } from '../core/clock.js';
import { EXIT_INTERNAL_ERROR } from '../core/errors.js';
import type { EventSink, NodeEvent } from '../core/events.js';
import { installProcessPolicy } from '../core/process-policy.js';
import type { CertificateIdentity } from '../pki/certificate.js';
import { thumbprintOfDer } from '../pki/thumbprint.js';
import { HARNESS_DEFAULTS, NODE_PROCESS_DEFAULTS } from '../scenario/defaults.js';
import type { FromNode, NodeProcessConfig, ToNode } from './ipc.js';
import { IpcRegistry, type RegistryRequest } from './ipc-machine-registry.js';
import { RedisQueue } from './redis-queue.js';
import { LocalQueue } from './local-queue.js';
import type { MachineRegistry } from './machine-registry.js';
import type { WorkQueue } from './work-queue.js';
import { ClusterNode } from './node.js';

/**
 * One simulated node, either in this process (in-process clusters, tests) or as the entry
 * point of a node process (the default: real SIGKILL / SIGSTOP faults).
 */
export interface InProcessNode {
  node: ClusterNode;
  pollingPort: number;
  apiPort: number;
  stop(): Promise<void>;
}

function identityOf(c: NodeProcessConfig): CertificateIdentity {
  const x = new X509Certificate(c.certPem);
  return { commonName: 'Octopus Portal', certPem: c.certPem, keyPem: c.keyPem, der: Buffer.from(x.raw), thumbprint: thumbprintOfDer(x.raw), notAfter: new Date(x.validTo) };
}

/**
 * The node's queue: its own (classic HA), the cluster's shared in-memory one (in-process
 * multi-node polling), or a RedisQueue (multi-node polling across node processes).
 */
async function createQueue(c: NodeProcessConfig, sink: EventSink, shared?: WorkQueue): Promise<{ queue: WorkQueue; owned: boolean }> {
  if (shared) return { queue: shared, owned: false };
  if (c.queue === 'redis') {
    const q = new RedisQueue({ url: c.redisUrl!, namespace: c.queueNamespace, node: c.name, sink, ...(c.redisQueue ? { settings: c.redisQueue } : {}) });
    await q.connect();
    return { queue: q, owned: true };
  }
  return { queue: new LocalQueue({ sink, race: (c.nodeBehaviour ?? 'real') === 'real' }), owned: true };
}

async function createNode(c: NodeProcessConfig, registry: MachineRegistry, sink: EventSink, shared?: WorkQueue): Promise<{ node: ClusterNode; queue: WorkQueue; owned: boolean }> {
  const { queue, owned } = await createQueue(c, sink, shared);
  const multiNode = c.queue !== 'per-node';
  const node = new ClusterNode({
    name: c.name,
    certificate: identityOf(c),
    polling: c.polling,
    api: c.api,
    apiKey: c.apiKey,
    spaceId: c.spaceId,
    registry,
    queue,
    protocol: c.protocol,
    maxConnectionsPerSubscription: c.maxConnectionsPerSubscription ?? null,
    apiRateLimit: c.apiRateLimit ?? null,
    nodeBehaviour: c.nodeBehaviour ?? 'real',
    workload: c.workload,
    redisStatus: { IsEnabled: multiNode, IsConfigured: multiNode, IsReachable: multiNode },
    sink,
    // Read at each request: the cluster replaces it (`server-nodes`) or updates it in place (in process).
    ...(c.serverNodes ? { serverNodes: () => c.serverNodes ?? [] } : {}),
  });
  return { node, queue, owned };
}

/** `sharedQueue`: multi-node polling -- every in-process node hands out work from one queue. */
export async function startNodeInProcess(c: NodeProcessConfig, registry: MachineRegistry, sink: EventSink, sharedQueue?: WorkQueue): Promise<InProcessNode> {
  const { node, queue, owned } = await createNode(c, registry, sink, sharedQueue);
  const { pollingPort, apiPort } = await node.start();
  return {
    node,
    pollingPort,
    apiPort,
    stop: async () => {
      await node.stop();
      if (owned) await queue.close();
    },
  };
}

/**
 * Process figures for long runs (bench/soak.ts, bench/node-heap-hold.ts): when
 * POLLFLEET_PROCESS_STATS_DIR and POLLFLEET_PROCESS_STATS_MS are set, every interval the node
 * process writes its RSS, heap, active handles, open polling connections and event-loop delay
 * since the last sample to `<dir>/<node>.json` (atomically: written aside, then renamed). When
 * the process runs with --expose-gc, garbage is collected before each sample, so the figures
 * are what is retained. Off by default; never on the hot path.
 */
export interface ProcessStats {
  node: string;
  pid: number;
  at: number;
  rss: number;
  heapUsed: number;
  /** The V8 heap's reserved size (RSS minus this: native memory, OpenSSL's among it). */
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Whether garbage was collected just before this sample. */
  afterGc: boolean;
  /** Open polling connections (TLS up). */
  connections: number;
  /** How the process was started, memory-wise (NODE_PROCESS_DEFAULTS.v8Flags, GLIBC_TUNABLES). */
  execArgv: string[];
  glibcTunables: string | null;
  handles: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

function startStatsWriter(nodeName: () => string | null, connections: () => number): void {
  const dir = process.env['POLLFLEET_PROCESS_STATS_DIR'];
  const everyMs = Number(process.env['POLLFLEET_PROCESS_STATS_MS']);
  if (!dir || !Number.isFinite(everyMs) || everyMs <= 0) return;
  const delay = monitorEventLoopDelay({ resolution: HARNESS_DEFAULTS.loopResolutionMs });
  // The histogram holds whole timer intervals (the resolution plus the lag): report the lag.
  const lagMs = (ns: number) => Math.max(0, ns / 1e6 - HARNESS_DEFAULTS.loopResolutionMs);
  delay.enable();
  const write = () => {
    const name = nodeName();
    if (name === null) return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const m = process.memoryUsage();
    const stats: ProcessStats = {
      node: name,
      pid: process.pid,
      at: Date.now(),
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      afterGc: gc !== undefined,
      connections: connections(),
      execArgv: process.execArgv,
      glibcTunables: process.env['GLIBC_TUNABLES'] ?? null,
      handles: process.getActiveResourcesInfo().length,
      loopDelayP99Ms: delay.count ? lagMs(delay.percentile(99)) : 0,
      loopDelayMaxMs: delay.count ? lagMs(delay.max) : 0,
    };
    delay.reset();
    try {
      const file = resolve(dir, `${name}.json`);
      writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(stats));
      renameSync(`${file}.${process.pid}.tmp`, file);
    } catch {
      // the figures are best effort: a full disk must not take the node down
    }
  };
  setInterval(write, everyMs).unref();
}

/** Entry point of a node process: wait for `init`, run the node, obey the control channel. */
function main(): void {
  const send = (m: FromNode) => {
    if (process.connected) process.send!(m);
  };
  let running: InProcessNode | null = null;
  let config: NodeProcessConfig | null = null;
  let registry: IpcRegistry | null = null;
  let buffer: NodeEvent[] = [];
  let flushTimer: NodeJS.Timeout | null = null;
  let nextReq = 1;
  let nodeName: string | null = null;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  const flush = () => {
    if (buffer.length) {
      send({ t: 'events', events: buffer });
      buffer = [];
    }
  };
  const sink: EventSink = (e) => {
    buffer.push(e as NodeEvent);
  };

  const request: RegistryRequest = (msg) =>
    new Promise<unknown>((resolve, reject) => {
      const reqId = nextReq++;
      pending.set(reqId, { resolve, reject });
      if (msg.kind === 'register') send({ t: 'register', reqId, machine: msg.machine });
      else send({ t: 'delete', reqId, spaceId: msg.spaceId, id: msg.id });
    });

  const shutdown = async () => {
    try {
      await running?.stop();
    } finally {
      flush();
      send({ t: 'stopped' });
      process.exit(0);
    }
  };

  // A stray rejection or exception: tell the supervisor (the node is recorded as crashed, an
  // error event in the run) and exit with the internal-error code -- never a silent death.
  let failing = false;
  installProcessPolicy((message) => {
    if (failing) return;
    failing = true;
    let crashed = false;
    try {
      if (running) {
        void running.node.destroy(); // emits the node's 'crashed' state
        crashed = true;
      }
    } catch {
      // the node is in a bad way already; the state event below still goes out
    }
    if (!crashed && nodeName !== null) buffer.push({ type: 'node-state', at: now(), node: nodeName, state: 'crashed' });
    if (flushTimer) clearInterval(flushTimer);
    flush();
    send({ t: 'internal-error', message });
    setTimeout(() => process.exit(EXIT_INTERNAL_ERROR), NODE_PROCESS_DEFAULTS.exitAfterInternalErrorMs);
  });

  startStatsWriter(() => nodeName, () => running?.node.stats().connections ?? 0);

  process.on('message', (m: ToNode) => {
    switch (m.t) {
      case 'init': {
        nodeName = m.config.name;
        config = m.config;
        registry = new IpcRegistry(m.config.machines, request);
        flushTimer = setInterval(flush, m.config.eventFlushIntervalMs);
        startNodeInProcess(m.config, registry, sink).then(
          (r) => {
            running = r;
            send({ t: 'ready', pollingPort: r.pollingPort, apiPort: r.apiPort });
          },
          (e: Error) => {
            const code = (e as NodeJS.ErrnoException).code;
            send({ t: 'start-failed', message: e.message, ...(typeof code === 'string' ? { code } : {}) });
            setTimeout(() => process.exit(1), NODE_PROCESS_DEFAULTS.exitAfterStartFailureMs);
          },
        );
        return;
      }
      case 'machine-added':
        registry?.added(m.machine);
        return;
      case 'machine-deleted':
        registry?.deleted(m.spaceId, m.id);
        return;
      case 'reply': {
        const p = pending.get(m.reqId);
        pending.delete(m.reqId);
        if (!p) return;
        if (m.ok) p.resolve(m.value);
        else p.reject(new Error(m.error ?? 'rejected'));
        return;
      }
      case 'drain':
        running?.node.setDraining(m.on);
        return;
      case 'server-nodes':
        if (config) config.serverNodes = m.nodes;
        return;
      case 'stop':
        if (flushTimer) clearInterval(flushTimer);
        void shutdown();
        return;
    }
  });
  // The supervisor went away: do not linger as an orphan.
  process.on('disconnect', () => {
    void running?.node.destroy();
    process.exit(0);
  });
}

if (process.send && process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
