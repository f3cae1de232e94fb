/**
 * What the balancer simulators report about themselves. Kept local to network/ (not yet
 * part of the PollfleetEvent union): a run can forward them to its trace or recorder.
 * Timestamps are `at` in epoch milliseconds from src/core/clock.ts.
 */

/** Why a balancer sent a TCP RST on a flow. */
export type ResetReason = 'idle' | 'unhealthy' | 'deregistration' | 'fault' | 'no-target' | 'target-refused';

export interface HealthChangedEvent {
  type: 'health-changed'; at: number; balancer: string; targetGroup: string; target: string;
  isHealthy: boolean;
  /** Why the last probe failed (`status 418`, `timeout`, `ECONNREFUSED` ...), or `manual`. */
  detail: string;
}

/** The balancer reset both sides of a flow (they see ECONNRESET). */
export interface FlowResetEvent {
  type: 'flow-reset'; at: number; balancer: string; listenerPort: number; target: string;
  reason: ResetReason;
}

/** An idle flow left the balancer's table; nothing was sent to either side. */
export interface FlowIdleExpiredEvent {
  type: 'flow-idle-expired'; at: number; balancer: string; listenerPort: number; target: string;
  idleTimeoutMs: number;
}

export type NetworkEvent = HealthChangedEvent | FlowResetEvent | FlowIdleExpiredEvent;

export type NetworkEventSink = (event: NetworkEvent) => void;
