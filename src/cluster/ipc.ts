import type { NodeEvent } from '../core/events.js';
import type { NodeProtocolSettings } from './node.js';
import type { NodeBehaviour } from './polling-listener.js';
import type { Machine, NewMachine } from './machine-registry.js';

/**
 * The control channel between the cluster supervisor and a node process (Node's IPC,
 * 'advanced' serialization). One message type per line; requests carry `reqId`.
 */
export interface NodeProcessConfig {
  name: string;
  certPem: string;
  keyPem: string;
  polling: { host: string; port: number };
  api: { host: string; port: number; https: boolean };
  apiKey: string;
  spaceId: string;
  protocol: NodeProtocolSettings;
  workload: { intervalMs: number; scriptShare: number; enabled: boolean };
  queue: 'per-node' | 'shared' | 'redis';
  redisUrl: string | null;
  /** Keys of one cluster run in a shared Redis. */
  queueNamespace: string;
  eventFlushIntervalMs: number;
  machines: Machine[];
  /** Per-subscription connection cap; null or unset = no cap. */
  maxConnectionsPerSubscription?: number | null;
  /** How the node handles dead connections; default `real`. */
  nodeBehaviour?: NodeBehaviour;
}

export type ToNode =
  | { t: 'init'; config: NodeProcessConfig }
  | { t: 'machine-added'; machine: Machine }
  | { t: 'machine-deleted'; spaceId: string; id: string }
  | { t: 'reply'; reqId: number; ok: boolean; value?: unknown; error?: string }
  | { t: 'drain'; on: boolean }
  | { t: 'stop' };

export type FromNode =
  | { t: 'ready'; pollingPort: number; apiPort: number }
  | { t: 'start-failed'; message: string; /** The system error code (EADDRINUSE ...), when there is one. */ code?: string }
  | { t: 'events'; events: NodeEvent[] }
  | { t: 'register'; reqId: number; machine: NewMachine }
  | { t: 'delete'; reqId: number; spaceId: string; id: string }
  | { t: 'stopped' }
  /** An unhandled rejection or uncaught exception (a bug in pollfleet): the process exits with 3 right after. */
  | { t: 'internal-error'; message: string };
