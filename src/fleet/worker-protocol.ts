import type { PollfleetEvent } from '../core/events.js';
import type { CertificateIdentity } from '../pki/certificate.js';
import type { HarnessWorker } from '../result/result.js';
import type { BackoffPolicy } from '../tentacle/backoff.js';
import type { ConnectionTimeouts } from '../tentacle/polling-connection.js';
import type { QuickRetryPolicy } from '../tentacle/quick-retry.js';
import type { ServerEntry } from '../tentacle/server-entry.js';
import type { PreambleStyle } from '../tentacle/tentacle.js';

/**
 * What the main thread and a fleet worker thread (src/fleet/fleet-worker.ts) say to each
 * other. Everything here is plain data (structured clone): a TLS context cannot cross a
 * thread, so a worker is sent the identity's PEMs and builds its own.
 */

/** The settings every tentacle of the fleet shares (workerData of each worker). */
export interface WorkerSettings {
  /** This worker's index (0..count-1) and the number of workers. */
  index: number;
  count: number;
  pollingConnectionCount: number;
  timeouts: ConnectionTimeouts;
  backoff: BackoffPolicy;
  quickRetry: QuickRetryPolicy;
  preamble: PreambleStyle;
  batchMs: number;
  batchEvents: number;
  loopResolutionMs: number;
}

/** One tentacle to run: its index, identity (PEMs, thumbprint), subscription and server entries. */
export interface WorkerTentacle {
  index: number;
  identity: CertificateIdentity;
  subscriptionId: string;
  servers: ServerEntry[];
}

/** The event-loop delay of a worker thread (the Result's per-worker breakdown). */
export type WorkerLoopHealth = HarnessWorker;

export type ToWorker =
  | { type: 'start'; tentacle: WorkerTentacle }
  /** Report the loop delay measured so far (the reply is `health`). */
  | { type: 'health' }
  /** The ramp is over: measure the loop from now on as well (steadyLoopDelayMs). */
  | { type: 'steady' }
  /** Stop every tentacle (END on identified connections), flush the events, reply `stopped`. */
  | { type: 'stop' }
  /** Tests only (src/fleet/worker-pool.ts workerTestHooks): throw an uncaught error in the worker. */
  | { type: 'crash' }
  /** Tests only: answer nothing from now on (a stuck worker). */
  | { type: 'deafen' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'events'; events: PollfleetEvent[] }
  | { type: 'health'; health: WorkerLoopHealth }
  | { type: 'stopped'; health: WorkerLoopHealth };

/** The worker of tentacle t among `count` workers. */
export function workerOf(t: number, count: number): number {
  return t % count;
}

/**
 * Connection ids of worker `w` of `count`: w+1, count+w+1, 2*count+w+1, ... Every worker
 * counts on its own and no two workers ever give the same id, so ids stay fleet-wide unique
 * as the events (conn) and the Recorder expect.
 */
export function workerConnIds(w: number, count: number): () => number {
  let k = 0;
  return () => k++ * count + w + 1;
}
