import type { OutgoingDataStream, RequestMessage, ResponseMessage } from '../halibut/index.js';

/**
 * Where a node's pending requests wait for a tentacle to collect them.
 * - classic HA: one LocalQueue per node, only that node hands its work out;
 * - multi-node polling: one queue shared by every node (in the cluster supervisor, or Redis),
 *   so any node a tentacle polls can hand out any node's work.
 */
export interface QueueItem {
  /** Node-local request number (unique per owner). */
  key: number;
  /** Node that queued the request (its response goes back there). */
  owner: string;
  subscription: string;
  request: RequestMessage;
  streams?: OutgoingDataStream[];
  enqueuedAt: number;
}

export type QueueOutcome =
  | { outcome: 'answered'; response: ResponseMessage; servedBy: string }
  | { outcome: 'expired' }
  | { outcome: 'failed'; errorKind: string; message: string };

export interface WorkQueue {
  /** false: this queue cannot carry data streams (the Redis queue today); the workload then starts no uploads. Unset: it can. */
  readonly carriesDataStreams?: boolean;
  /**
   * Queue a request; resolves when it was answered, expired (not collected within
   * `collectTimeoutMs`), or failed after collection (the connection died).
   */
  enqueue(item: QueueItem, collectTimeoutMs: number): Promise<QueueOutcome>;
  /** Long-poll for work for a subscription on behalf of node `servingNode`; null after `waitMs` or on abort. */
  take(subscription: string, servingNode: string, waitMs: number, signal: AbortSignal): Promise<QueueItem | null>;
  /** Give back an item that was taken but never written (its connection closed first). */
  requeue(item: QueueItem): void;
  /** The tentacle answered (or the exchange failed after collection). */
  complete(item: QueueItem, outcome: QueueOutcome): void;
  /** Requests waiting to be collected (all subscriptions). */
  size(): number;
  close(): Promise<void>;
}
