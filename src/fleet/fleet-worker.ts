/**
 * The entry of a fleet worker thread (src/fleet/worker-pool.ts starts it): runs the real
 * Tentacle objects of the tentacles the main thread hands it and sends their events back in
 * batches. The main thread keeps the ramp, registration and the Recorder; this thread only
 * polls. It builds the TLS contexts itself (a context cannot cross threads), one per
 * certificate, so tentacles sharing an identity share a context as on the main thread.
 */
import type { SecureContext } from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';
import type { PollfleetEvent } from '../core/events.js';
import { HarnessMonitor } from '../metrics/harness-monitor.js';
import type { ServerEntry } from '../tentacle/server-entry.js';
import { Tentacle, tentacleSecureContext } from '../tentacle/tentacle.js';
import { EventBatcher } from './event-batcher.js';
import { workerConnIds, type FromWorker, type ToWorker, type WorkerLoopHealth, type WorkerSettings } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('src/fleet/fleet-worker.ts runs as a worker thread of the fleet');
const settings = workerData as WorkerSettings;
const send = (m: FromWorker) => port.postMessage(m);

const batcher = new EventBatcher<PollfleetEvent>((events) => send({ type: 'events', events }), settings.batchEvents, settings.batchMs);
const sink = (e: PollfleetEvent) => batcher.push(e);
const nextConnId = workerConnIds(settings.index, settings.count);
const contexts = new Map<string, SecureContext>();
// Every message brings its own copies; like the main thread, keep one per distinct key and entry list (a fleet shares a few keys and usually one list).
const keyPems = new Map<string, string>();
const entryLists = new Map<string, ServerEntry[]>();
function shared<T>(map: Map<string, T>, key: string, value: T): T {
  const known = map.get(key);
  if (known !== undefined) return known;
  map.set(key, value);
  return value;
}
const tentacles: Tentacle[] = [];
// This thread's own event loop, from its start; the CPU figures are the process's (every thread) and left to the main thread.
const monitor = new HarnessMonitor(settings.loopResolutionMs);
monitor.start();
let health: WorkerLoopHealth | null = null;
let stopping = false;

/** The loop delay so far; measured once (at the run's end or at stop), then kept. */
function loopHealth(): WorkerLoopHealth {
  if (!health) {
    const h = monitor.stop();
    health = { worker: settings.index, loopDelayMs: h?.loopDelayMs ?? { p50: null, p99: null, max: null }, ...(h?.steadyLoopDelayMs ? { steadyLoopDelayMs: h.steadyLoopDelayMs } : {}) };
  }
  return health;
}

let deaf = false;

port.on('message', (m: ToWorker) => {
  if (deaf) return;
  switch (m.type) {
    case 'start': {
      if (stopping) return;
      const t = m.tentacle;
      // Structured clone turns the DER Buffer into a Uint8Array: give it back its type.
      const identity = { ...t.identity, der: Buffer.from(t.identity.der), keyPem: shared(keyPems, t.identity.keyPem, t.identity.keyPem) };
      let secureContext = contexts.get(identity.certPem);
      if (!secureContext) contexts.set(identity.certPem, (secureContext = tentacleSecureContext(identity)));
      const tentacle = new Tentacle({
        index: t.index,
        identity,
        secureContext,
        subscriptionId: t.subscriptionId,
        servers: shared(entryLists, JSON.stringify(t.servers), t.servers),
        pollingConnectionCount: settings.pollingConnectionCount,
        timeouts: settings.timeouts,
        backoff: settings.backoff,
        quickRetry: settings.quickRetry,
        preamble: settings.preamble,
        sink,
        nextConnId,
      });
      tentacles.push(tentacle);
      tentacle.start();
      return;
    }
    case 'health':
      send({ type: 'health', health: loopHealth() });
      return;
    case 'steady':
      monitor.markSteady();
      return;
    case 'stop':
      if (stopping) return;
      stopping = true;
      void Promise.all(tentacles.map((t) => t.stop())).then(() => {
        batcher.flush();
        send({ type: 'stopped', health: loopHealth() });
      });
      return;
    case 'deafen':
      deaf = true;
      return;
    case 'crash':
      setImmediate(() => {
        throw new Error('injected failure (test hook)');
      });
      return;
  }
});

send({ type: 'ready' });
