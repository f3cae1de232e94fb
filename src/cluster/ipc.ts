import type { ApiRateLimit } from './rest-api-rate-limit.js';
import type { NodeEvent } from '../core/events.js';
import type { RedisQueueSettings } from '../scenario/defaults.js';
import type { NodeProtocolSettings } from './node.js';
import type { NodeBehaviour } from './polling-listener.js';
import type { Machine, NewMachine } from './machine-registry.js';
import type { ServerNodeState } from './rest-api-server-nodes.js';
import type { WorkloadTaskSettings } from './tasks/server-task.js';

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
  workload: { intervalMs: number; scriptShare: number; enabled: boolean; tasks?: Partial<WorkloadTaskSettings> };
  queue: 'per-node' | 'shared' | 'redis';
  redisUrl: string | null;
  /** Keys of one cluster run in a shared Redis. */
  queueNamespace: string;
  eventFlushIntervalMs: number;
  machines: Machine[];
  /** Per-subscription connection cap; null or unset = no cap. */
  maxConnectionsPerSubscription?: number | null;
  /** The cluster's server nodes (GET /api/octopusservernodes); kept current by `server-nodes` messages. */
  serverNodes?: ServerNodeState[];
  /** REST API rate limit; null or unset = none. */
  apiRateLimit?: ApiRateLimit | null;
  /** Redis queue timings (queue: redis); unset = REDIS_QUEUE_DEFAULTS. */
  redisQueue?: Partial<RedisQueueSettings>;
  /** How the node handles dead connections; default `real`. */
  nodeBehaviour?: NodeBehaviour;
}

export type ToNode =
  | { t: 'init'; config: NodeProcessConfig }
  | { t: 'machine-added'; machine: Machine }
  | { t: 'machine-deleted'; spaceId: string; id: string }
  | { t: 'reply'; reqId: number; ok: boolean; value?: unknown; error?: string }
  | { t: 'drain'; on: boolean }
  | { t: 'server-nodes'; nodes: ServerNodeState[] }
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
