import type { Socket } from 'node:net';
import type { ResetReason } from './network-event.js';
import { resetSocket } from './reset-socket.js';
import type { Target } from './target-group.js';

/** Per listener and target counters, shared by that pair's flows (no lookup per event). */
export class FlowCounters {
  active = 0;
  total = 0;
  /** Flows forgotten by idle expiry whose sockets are still open at both ends (half-open to the peers). */
  expired = 0;
  readonly resets: Record<ResetReason, number> = { idle: 0, unhealthy: 0, deregistration: 0, fault: 0, 'no-target': 0, 'target-refused': 0 };
}

/** What a flow tells its balancer. */
export interface FlowOwner {
  /** Fault switch for every flow (checked per chunk). */
  readonly isBlackholedAll: boolean;
  flowIdleExpired(flow: Flow): void;
  flowReset(flow: Flow, reason: ResetReason): void;
  flowClosed(flow: Flow): void;
}

/**
 * What a flow does at idle expiry ([LB]): `reset-next-packet` (AWS NLB: nothing is sent, the
 * next packet from either side gets an RST), `silent-drop` (Azure Load Balancer's default:
 * nothing is sent and every later packet is dropped, so each side notices only by its own
 * timeout), `reset` (Azure with "TCP reset on idle": an RST to both sides at once).
 */
export type IdleBehaviour = 'reset-next-packet' | 'silent-drop' | 'reset';

/** The two ends of one side: the socket data is read from and written to, and the TCP socket under it (RST goes there). */
export interface FlowSide {
  data: Socket;
  raw: Socket;
}

/**
 * One client connection pinned to one target connection for its whole life. Bytes pass
 * untouched with backpressure; one idle timer (the client socket's, refreshed by Node on
 * every read and write in both directions). At idle expiry nothing is sent: the flow is
 * only forgotten, and the next data or FIN from either side resets both. A flow can also
 * be marked so that its next packet is reset (unhealthy target), or reset at once.
 */
export class Flow {
  readonly target: Target;
  readonly listenerPort: number;
  readonly counters: FlowCounters;
  /** Reset pending for the next packet from either side (idle expiry, unhealthy target). */
  pendingReset: ResetReason | undefined;
  #isExpired = false;
  #isClosed = false;
  /** Silently dropped (idle expiry with silent-drop): bytes from either side go nowhere. */
  #isDropped = false;
  readonly #onIdleBehaviour: IdleBehaviour;
  #openSockets = 2;
  readonly #client: FlowSide;
  readonly #upstream: FlowSide;
  readonly #owner: FlowOwner;

  constructor(client: FlowSide, upstream: FlowSide, target: Target, listenerPort: number, counters: FlowCounters, owner: FlowOwner, idleTimeoutMs: number, onIdle: IdleBehaviour = 'reset-next-packet') {
    this.#onIdleBehaviour = onIdle;
    this.#client = client;
    this.#upstream = upstream;
    this.target = target;
    this.listenerPort = listenerPort;
    this.counters = counters;
    this.#owner = owner;
    counters.active++;
    counters.total++;

    const c = client.data;
    const u = upstream.data;
    c.on('data', this.#onClientData);
    u.on('data', this.#onUpstreamData);
    c.on('drain', this.#resumeUpstream);
    u.on('drain', this.#resumeClient);
    c.on('end', this.#onClientEnd);
    u.on('end', this.#onUpstreamEnd);
    c.on('error', this.#onClientError);
    u.on('error', this.#onUpstreamError);
    c.on('close', this.#onSocketClose);
    u.on('close', this.#onSocketClose);
    if (client.raw !== c) client.raw.on('error', noop);
    if (upstream.raw !== u) upstream.raw.on('error', noop);
    c.on('timeout', this.#onIdle);
    if (idleTimeoutMs > 0) c.setTimeout(idleTimeoutMs);
  }

  get isExpired(): boolean {
    return this.#isExpired;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  setIdleTimeout(ms: number): void {
    if (this.#isClosed || this.#isExpired) return;
    this.#client.data.setTimeout(ms > 0 ? ms : 0);
  }

  /** RST on the next packet from either side, unless a reset is already pending. */
  markForReset(reason: ResetReason): void {
    if (!this.#isClosed && this.pendingReset === undefined) this.pendingReset = reason;
  }

  /** Undo a pending unhealthy reset (the target recovered before the flow spoke). */
  clearPendingReset(reason: ResetReason): void {
    if (this.pendingReset === reason) this.pendingReset = undefined;
  }

  /** RST both sides now. */
  reset(reason: ResetReason): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#leaveTable();
    this.counters.resets[reason]++;
    resetSocket(this.#client.raw);
    resetSocket(this.#upstream.raw);
    this.#client.data.destroy();
    this.#upstream.data.destroy();
    this.#owner.flowReset(this, reason);
  }

  /** Close both sides quietly (balancer stopping): RST, no event, no counters. */
  destroy(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#leaveTable();
    resetSocket(this.#client.raw);
    resetSocket(this.#upstream.raw);
    this.#client.data.destroy();
    this.#upstream.data.destroy();
  }

  #leaveTable(): void {
    if (this.#isExpired) this.counters.expired--;
    else this.counters.active--;
  }

  readonly #onClientData = (chunk: Buffer): void => {
    if (this.pendingReset !== undefined) return this.reset(this.pendingReset);
    if (this.#isDropped || this.target.isBlackholed || this.#owner.isBlackholedAll) return;
    if (!this.#upstream.data.write(chunk)) this.#client.data.pause();
  };

  readonly #onUpstreamData = (chunk: Buffer): void => {
    if (this.pendingReset !== undefined) return this.reset(this.pendingReset);
    if (this.#isDropped || this.target.isBlackholed || this.#owner.isBlackholedAll) return;
    if (!this.#client.data.write(chunk)) this.#upstream.data.pause();
  };

  readonly #resumeUpstream = (): void => {
    this.#upstream.data.resume();
  };

  readonly #resumeClient = (): void => {
    this.#client.data.resume();
  };

  readonly #onClientEnd = (): void => {
    if (this.pendingReset !== undefined) return this.reset(this.pendingReset);
    // a silently dropped flow carries no FIN either: the other side learns nothing; this side's socket just goes
    if (this.#isDropped) return void this.#client.data.destroy();
    this.#upstream.data.end();
  };

  readonly #onUpstreamEnd = (): void => {
    if (this.pendingReset !== undefined) return this.reset(this.pendingReset);
    if (this.#isDropped) return void this.#upstream.data.destroy();
    this.#client.data.end();
  };

  // A peer's RST (or any socket error) passes through as an RST to the other side.
  readonly #onClientError = (): void => {
    if (this.#isDropped) return void this.#client.data.destroy();
    this.#passReset();
  };

  readonly #onUpstreamError = (e: NodeJS.ErrnoException): void => {
    if (this.#isClosed) return;
    // the target refused the connection (its SYN was answered by an RST): the client gets the RST
    if (e.code === 'ECONNREFUSED') return this.reset('target-refused');
    if (this.#isDropped) return void this.#upstream.data.destroy();
    this.#passReset();
  };

  #passReset(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#leaveTable();
    resetSocket(this.#client.raw);
    resetSocket(this.#upstream.raw);
    this.#client.data.destroy();
    this.#upstream.data.destroy();
  }

  readonly #onSocketClose = (): void => {
    if (--this.#openSockets > 0) return;
    if (!this.#isClosed) {
      this.#isClosed = true;
      this.#leaveTable();
    }
    this.#owner.flowClosed(this);
  };

  readonly #onIdle = (): void => {
    if (this.#isClosed || this.#isExpired) return;
    this.#isExpired = true;
    this.counters.active--;
    this.counters.expired++;
    this.#client.data.setTimeout(0);
    this.#owner.flowIdleExpired(this);
    // a reset already pending (unhealthy) keeps its reason
    if (this.pendingReset !== undefined) return;
    if (this.#onIdleBehaviour === 'reset') return this.reset('idle');
    if (this.#onIdleBehaviour === 'silent-drop') {
      this.#isDropped = true;
      return;
    }
    this.pendingReset = 'idle';
  };
}

function noop(): void {}
