import type { ErrorData, ErrorKind } from './errors.js';

/**
 * Every event either end of a connection emits: the only seam between what happens on the
 * wire (tentacle/, cluster/, network/) and what is measured (metrics/).
 *
 * Events are flat, one shape per type, timestamps are `at` in epoch milliseconds with
 * sub-ms resolution (src/core/clock.ts), and things are referred to by id:
 * - `tentacle`: index of the tentacle in the fleet (0..N-1)
 * - `entry`: index of the server entry in that tentacle's list
 * - `conn`: fleet-wide id of one polling connection attempt
 * - `node`: node name (`node1` ...), `connId`: node-local connection id
 * - `requestKey`: node-local request number (unique per owner node)
 */

// ---------- tentacle side ----------

export interface ConnectStartEvent { type: 'connect-start'; at: number; tentacle: number; entry: number; conn: number }
export interface TcpConnectedEvent { type: 'tcp-connected'; at: number; tentacle: number; entry: number; conn: number; durationMs: number }
export interface TlsDoneEvent {
  type: 'tls-done'; at: number; tentacle: number; entry: number; conn: number;
  durationMs: number; protocol: string; cipher: string; peerThumbprint: string;
}
export interface IdentifiedEvent { type: 'identified'; at: number; tentacle: number; entry: number; conn: number }
/** A poll: one message received by the tentacle (a request or the null message). */
export interface PolledEvent { type: 'polled'; at: number; tentacle: number; entry: number; conn: number; kind: 'null' | 'request'; service?: string; method?: string }
export interface AnsweredEvent {
  type: 'answered'; at: number; tentacle: number; entry: number; conn: number;
  service: string; method: string; ok: boolean;
}
/** An error's data fields (src/core/errors.ts ErrorData) ride flat on the event that reports it. */
export interface ClosedEvent extends ErrorData {
  type: 'closed'; at: number; tentacle: number; entry: number; conn: number;
  reason: 'stopped' | 'ended-by-peer' | 'error';
  wasIdentified: boolean;
  errorKind?: ErrorKind;
  message?: string;
}
/** A sleep before the next attempt: the outer back-off, or (`quick`) the quick inner retry (src/tentacle/quick-retry.ts). */
export interface BackoffEvent { type: 'backoff'; at: number; tentacle: number; entry: number; conn: number; delayMs: number; quick?: boolean }
export interface RegistrationEvent extends ErrorData {
  type: 'registration'; at: number; tentacle: number; ok: boolean; durationMs: number;
  errorKind?: ErrorKind; message?: string; machineId?: string;
  /** HTTP 429 answers waited out (Retry-After) during this registration, and the wait in all. */
  throttled?: number; throttledWaitMs?: number;
  /** Synthetic registration: tries again after a lost answer (no HTTP answer); `adopted`, a retry found the machine the server had created. */
  lostAnswerRetries?: number; adopted?: boolean;
}

// ---------- node side ----------

export interface NodeAcceptedEvent { type: 'node-accepted'; at: number; node: string; connId: number }
export interface NodeIdentifiedEvent { type: 'node-identified'; at: number; node: string; connId: number; subscription: string; thumbprint: string }
export interface NodeRejectedEvent {
  type: 'node-rejected'; at: number; node: string; connId: number;
  reason: 'no-certificate' | 'untrusted' | 'http-page' | 'protocol' | 'over-subscription-cap';
  thumbprint?: string;
  /** With `over-subscription-cap`: the subscription whose connections were over the cap. */
  subscription?: string;
}
export interface NodeClosedEvent {
  type: 'node-closed'; at: number; node: string; connId: number; subscription?: string;
  reason: 'stopped' | 'ended-by-peer' | 'error';
  errorKind?: ErrorKind;
}
/** A message the node wrote to a subscriber (the node side of a poll). */
export interface NodeSentEvent { type: 'node-sent'; at: number; node: string; connId: number; subscription: string; kind: 'null' | 'request' }
export interface RequestQueuedEvent { type: 'request-queued'; at: number; node: string; requestKey: number; subscription: string; service: string }
export interface RequestDispatchedEvent {
  type: 'request-dispatched'; at: number; node: string; owner: string; requestKey: number;
  subscription: string; enqueuedAt: number;
}
export interface RequestAnsweredEvent {
  type: 'request-answered'; at: number; node: string; owner: string; requestKey: number;
  subscription: string; ok: boolean;
}
export interface RequestExpiredEvent { type: 'request-expired'; at: number; node: string; requestKey: number; subscription: string; enqueuedAt: number }
/** A server task ended on a node (src/cluster/tasks/): its kind and final state. */
export interface TaskFinishedEvent { type: 'task-finished'; at: number; node: string; kind: 'health' | 'deploy' | 'upload'; state: string; durationMs: number }
/**
 * A request that failed after it was collected: handed to a connection (the serving node
 * `node`) whose write or response then failed. A real node never requeues it ([H] section 4),
 * so its caller gets an error: lost after collection. `written`: whether the request went out.
 */
export interface RequestLostEvent {
  type: 'request-lost'; at: number; node: string; owner: string; requestKey: number;
  subscription: string; enqueuedAt: number; written: boolean; errorKind: ErrorKind;
}
export interface NodeStateEvent {
  type: 'node-state'; at: number; node: string;
  state: 'up' | 'draining' | 'stopping' | 'stopped' | 'crashed' | 'hung' | 'resumed';
}

/**
 * The Redis queue of a node (src/cluster/redis-queue.ts): Redis became unreachable / answered
 * again / lost all its data; a request failed or was abandoned because of it; a tentacle
 * connection was dropped after a dequeue error.
 */
export interface RedisQueueEvent {
  type: 'redis-queue'; at: number; node: string;
  what: 'unavailable' | 'recovered' | 'data-lost' | 'request-failed' | 'request-abandoned' | 'connection-dropped';
  reason?: 'heartbeat-lost' | 'data-lost' | 'redis-unavailable';
  requestKey?: number;
}

export type FleetEvent =
  | ConnectStartEvent
  | TcpConnectedEvent
  | TlsDoneEvent
  | IdentifiedEvent
  | PolledEvent
  | AnsweredEvent
  | ClosedEvent
  | BackoffEvent
  | RegistrationEvent;

export type NodeEvent =
  | NodeAcceptedEvent
  | NodeIdentifiedEvent
  | NodeRejectedEvent
  | NodeClosedEvent
  | NodeSentEvent
  | RequestQueuedEvent
  | RequestDispatchedEvent
  | RequestAnsweredEvent
  | RequestExpiredEvent
  | TaskFinishedEvent
  | RequestLostEvent
  | NodeStateEvent
  | RedisQueueEvent;

export type PollfleetEvent = FleetEvent | NodeEvent;

/** Whoever emits events is handed one of these; subscribers (recorder, progress, trace) fan out behind it. */
export type EventSink = (event: PollfleetEvent) => void;
