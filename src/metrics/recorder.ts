import { now } from '../core/clock.js';
import { errorDataOf, type ErrorData } from '../core/errors.js';
import type { EventSink, PollfleetEvent } from '../core/events.js';
import type { TimelinePoint } from '../result/result.js';
import { DurationHistogram } from '../result/histogram.js';

/** What the recorder needs to know about the run; nothing else. */
export interface RecorderPlan {
  tentacles: number;
  nodeNames: string[];
  /**
   * Where pair state comes from: 'node' = node-side events (embedded cluster: the truth of
   * which node a connection reached, whatever balancer is in the path); 'tentacle' = the
   * tentacle's server entries (external targets: entry -> node via entryNode).
   */
  pairSource: 'node' | 'tentacle';
  /** For pairSource 'tentacle': node index a tentacle's entry polls, or -1 when it is not one node. */
  entryNode(tentacle: number, entry: number): number;
  /** For each node index: node indexes whose connections can collect its work (itself; all with a shared queue). */
  queueGroups: number[][];
  stalenessMs: number;
}

export type Phase = TimelinePoint['phase'];

interface ConnState {
  tentacle: number;
  entry: number;
  tlsDoneAt: number;
  lastPollAt: number;
  identified: boolean;
}

export interface NodeCounters {
  polls: number;
  queued: number;
  collected: number;
  expired: number;
  /** Collected requests that failed with their connection (request-lost). */
  lostAfterCollection: number;
  answered: number;
  maxConnected: number;
  pickup: DurationHistogram;
  /** Connections the node closed for being over its per-subscription cap. */
  connectionsOverSubscriptionCap: number;
}

/**
 * Folds events into numbers: per-pair state, per-node counters and histograms, and a
 * timeline sampled by the caller once per interval. Holds typed arrays and counters; no
 * percentiles until the end (src/metrics/result-builder.ts).
 */
export class Recorder {
  readonly plan: RecorderPlan;
  /** Finished server tasks per kind and final state (embedded cluster). */
  readonly tasks: Record<string, Record<string, number>> = {};
  readonly T: number;
  readonly N: number;
  /** Identified connections per pair (tentacle * N + node). */
  readonly pairConns: Int32Array;
  /** Last activity per pair: identification or poll (epoch ms). */
  readonly pairActivity: Float64Array;
  /** Whether the pair ever received a poll. */
  readonly pairPolled: Uint8Array;
  readonly nodes: NodeCounters[];
  readonly tcp = new DurationHistogram();
  readonly tls = new DurationHistogram();
  readonly identify = new DurationHistogram();
  readonly pollGap = new DurationHistogram();
  readonly registration = new DurationHistogram();
  readonly registrationFailures: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  readonly errorExamples: Record<string, string> = {};
  /** The data fields (HTTP status, thumbprints, node, address) of the example kept per error kind. */
  readonly errorExampleData: Record<string, ErrorData> = {};
  readonly timeline: TimelinePoint[] = [];
  /** The Redis queue's events, counted (src/cluster/redis-queue.ts): `what` or `request-failed:<reason>` -> count. */
  readonly redisQueue: Record<string, number> = {};
  polls = 0;
  reconnects = 0;
  registrations = 0;
  /** HTTP 429 answers registrations waited out, and the time they waited (Retry-After). */
  registrationThrottled = 0;
  registrationThrottledWaitMs = 0;
  /** Registrations tried again after a lost answer, and machines such a retry adopted. */
  registrationLostAnswerRetries = 0;
  registrationAdopted = 0;
  startedAt = 0;

  #subscriptionTentacle = new Map<string, number>();
  #nodeIndex = new Map<string, number>();
  #nodeConns = new Map<string, number>(); // `${node}:${connId}` -> pair index
  #conns = new Map<number, ConnState>();
  // interval counters for the timeline
  #iPolls = 0;
  #iHandshakes = 0;
  #iErrors = 0;
  #iReconnects = 0;

  constructor(plan: RecorderPlan, startedAt: number) {
    this.plan = plan;
    this.T = plan.tentacles;
    this.N = plan.nodeNames.length;
    this.pairConns = new Int32Array(this.T * this.N);
    this.pairActivity = new Float64Array(this.T * this.N);
    this.pairPolled = new Uint8Array(this.T * this.N);
    this.nodes = plan.nodeNames.map(() => ({ polls: 0, queued: 0, collected: 0, expired: 0, lostAfterCollection: 0, answered: 0, maxConnected: 0, pickup: new DurationHistogram(), connectionsOverSubscriptionCap: 0 }));
    plan.nodeNames.forEach((n, i) => this.#nodeIndex.set(n, i));
    this.startedAt = startedAt;
  }

  /** The sink to hand to emitters: this recorder, plus another subscriber when given. */
  sinkWith(also?: EventSink): EventSink {
    if (!also) return this.record;
    return (e) => {
      this.record(e);
      also(e);
    };
  }

  /** Tell the recorder which tentacle owns a subscription id (node events name subscriptions). */
  mapSubscription(subscriptionId: string, tentacle: number): void {
    this.#subscriptionTentacle.set(subscriptionId.toLowerCase(), tentacle);
  }

  #error(kind: string | undefined, message: string | undefined): void {
    const k = kind ?? 'internal';
    this.errors[k] = (this.errors[k] ?? 0) + 1;
    if (message && !this.errorExamples[k]) this.errorExamples[k] = message;
    this.#iErrors++;
  }

  /** Before #error: keep the data of the event whose message becomes the kind's example. */
  #errorData(kind: string | undefined, e: PollfleetEvent): void {
    const k = kind ?? 'internal';
    if (this.errorExamples[k] !== undefined || this.errorExampleData[k] !== undefined) return;
    const d = errorDataOf(e);
    if (Object.keys(d).length > 0) this.errorExampleData[k] = d;
  }

  readonly record = (e: PollfleetEvent): void => {
    switch (e.type) {
      // ---- tentacle side ----
      case 'connect-start':
        this.#conns.set(e.conn, { tentacle: e.tentacle, entry: e.entry, tlsDoneAt: 0, lastPollAt: 0, identified: false });
        return;
      case 'tcp-connected':
        this.tcp.recordMs(e.durationMs);
        return;
      case 'tls-done': {
        this.tls.recordMs(e.durationMs);
        this.#iHandshakes++;
        const c = this.#conns.get(e.conn);
        if (c) c.tlsDoneAt = e.at;
        return;
      }
      case 'identified': {
        const c = this.#conns.get(e.conn);
        if (c) {
          c.identified = true;
          c.lastPollAt = e.at;
          if (c.tlsDoneAt) this.identify.recordMs(e.at - c.tlsDoneAt);
        }
        if (this.plan.pairSource === 'tentacle') this.#tentaclePair(e.tentacle, e.entry, +1, e.at, false);
        return;
      }
      case 'polled': {
        this.polls++;
        this.#iPolls++;
        const c = this.#conns.get(e.conn);
        if (c) {
          if (c.lastPollAt) this.pollGap.recordMs(e.at - c.lastPollAt);
          c.lastPollAt = e.at;
        }
        if (this.plan.pairSource === 'tentacle') this.#tentaclePair(e.tentacle, e.entry, 0, e.at, true);
        return;
      }
      case 'answered':
        return;
      case 'closed': {
        const c = this.#conns.get(e.conn);
        this.#conns.delete(e.conn);
        if (e.reason === 'error' && e.message) this.#errorData(e.errorKind, e);
        if (e.reason === 'error') this.#error(e.errorKind, e.message);
        if (this.plan.pairSource === 'tentacle' && c?.identified) this.#tentaclePair(e.tentacle, e.entry, -1, e.at, false);
        return;
      }
      case 'backoff':
        this.reconnects++;
        this.#iReconnects++;
        return;
      case 'registration':
        this.registrations++;
        this.registrationThrottled += e.throttled ?? 0;
        this.registrationThrottledWaitMs += e.throttledWaitMs ?? 0;
        this.registrationLostAnswerRetries += e.lostAnswerRetries ?? 0;
        if (e.adopted) this.registrationAdopted++;
        if (e.ok) this.registration.recordMs(e.durationMs);
        else {
          const key = e.status ? `HTTP ${e.status}` : (e.errorKind ?? 'error');
          this.registrationFailures[key] = (this.registrationFailures[key] ?? 0) + 1;
          if (e.message) this.#errorData(e.errorKind ?? 'registration.failed', e);
          this.#error(e.errorKind ?? 'registration.failed', e.message);
        }
        return;

      // ---- node side ----
      case 'node-identified': {
        if (this.plan.pairSource !== 'node') return;
        const t = this.#subscriptionTentacle.get(e.subscription.toLowerCase());
        const n = this.#nodeIndex.get(e.node);
        if (t === undefined || n === undefined) return;
        const pair = t * this.N + n;
        this.#nodeConns.set(`${e.node}:${e.connId}`, pair);
        this.pairConns[pair]!++;
        if (e.at > this.pairActivity[pair]!) this.pairActivity[pair] = e.at;
        return;
      }
      case 'node-closed': {
        const key = `${e.node}:${e.connId}`;
        const pair = this.#nodeConns.get(key);
        if (pair === undefined) return;
        this.#nodeConns.delete(key);
        this.pairConns[pair]!--;
        return;
      }
      case 'node-sent': {
        const n = this.#nodeIndex.get(e.node);
        if (n === undefined) return;
        this.nodes[n]!.polls++;
        if (this.plan.pairSource !== 'node') return;
        const pair = this.#nodeConns.get(`${e.node}:${e.connId}`);
        if (pair === undefined) return;
        this.pairPolled[pair] = 1;
        if (e.at > this.pairActivity[pair]!) this.pairActivity[pair] = e.at;
        return;
      }
      case 'request-queued': {
        const n = this.#nodeIndex.get(e.node);
        if (n !== undefined) this.nodes[n]!.queued++;
        return;
      }
      case 'request-dispatched': {
        const n = this.#nodeIndex.get(e.owner);
        if (n === undefined) return;
        this.nodes[n]!.collected++;
        this.nodes[n]!.pickup.recordMs(Math.max(0, e.at - e.enqueuedAt));
        return;
      }
      case 'request-answered': {
        const n = this.#nodeIndex.get(e.owner);
        if (n !== undefined && e.ok) this.nodes[n]!.answered++;
        return;
      }
      case 'request-expired': {
        const n = this.#nodeIndex.get(e.node);
        if (n !== undefined) this.nodes[n]!.expired++;
        return;
      }
      case 'request-lost': {
        const n = this.#nodeIndex.get(e.owner);
        if (n === undefined) return;
        if (!e.written) this.nodes[n]!.collected++; // taken, never dispatched: collected all the same
        // lost after the run's end: to pollfleet's own shutdown (tentacles stopping with work in flight)
        if (!this.final || e.at <= this.final.at) this.nodes[n]!.lostAfterCollection++;
        return;
      }
      case 'node-state':
        // a killed node sends no node-closed events: its connections are gone with it
        if (e.state === 'crashed') this.#dropNodeConns(e.node);
        return;
      case 'node-rejected': {
        const n = e.reason === 'over-subscription-cap' ? this.#nodeIndex.get(e.node) : undefined;
        if (n !== undefined) this.nodes[n]!.connectionsOverSubscriptionCap++;
        return;
      }
      case 'task-finished': {
        const byState = (this.tasks[e.kind] ??= {});
        byState[e.state] = (byState[e.state] ?? 0) + 1;
        return;
      }
      case 'node-accepted':
        return;
      case 'redis-queue': {
        const k = e.reason ? `${e.what}:${e.reason}` : e.what;
        this.redisQueue[k] = (this.redisQueue[k] ?? 0) + 1;
        return;
      }
    }
  };

  #dropNodeConns(node: string): void {
    const prefix = `${node}:`;
    for (const [key, pair] of this.#nodeConns) {
      if (!key.startsWith(prefix)) continue;
      this.#nodeConns.delete(key);
      this.pairConns[pair]!--;
    }
  }

  #tentaclePair(tentacle: number, entry: number, delta: number, at: number, polled: boolean): void {
    const n = this.plan.entryNode(tentacle, entry);
    if (n < 0 || tentacle >= this.T) return;
    const pair = tentacle * this.N + n;
    this.pairConns[pair]! += delta;
    if (polled) this.pairPolled[pair] = 1;
    if (at > this.pairActivity[pair]!) this.pairActivity[pair] = at;
  }

  /** Is the pair's node reachable for its work right now? */
  #pairLive(pair: number, at: number): boolean {
    return this.pairConns[pair]! > 0 && at - this.pairActivity[pair]! <= this.plan.stalenessMs;
  }

  isCovered(t: number, n: number, at: number): boolean {
    for (const m of this.plan.queueGroups[n]!) if (this.#pairLive(t * this.N + m, at)) return true;
    return false;
  }

  /**
   * Freeze the pair state at the end of the steady part (before the fleet stops and its
   * connections close), so "final" figures describe the run, not the shutdown.
   */
  markFinal(at: number): void {
    this.final = { at, conns: this.pairConns.slice(), activity: this.pairActivity.slice(), polled: this.pairPolled.slice() };
  }

  final: { at: number; conns: Int32Array; activity: Float64Array; polled: Uint8Array } | null = null;

  /**
   * Did the pair's node send its tentacle a message by the end of the run (the frozen state; now
   * when not frozen)? A node that stops answers every waiting connection with a null message:
   * that is the shutdown, not a poll of the run.
   */
  polledFinal(t: number, n: number): boolean {
    return (this.final ? this.final.polled : this.pairPolled)[t * this.N + n] === 1;
  }

  /** Coverage of a pair in the frozen final state (or now, when not frozen). */
  isCoveredFinal(t: number, n: number): boolean {
    const f = this.final;
    if (!f) return this.isCovered(t, n, now());
    for (const m of this.plan.queueGroups[n]!) {
      const pair = t * this.N + m;
      if (f.conns[pair]! > 0 && f.at - f.activity[pair]! <= this.plan.stalenessMs) return true;
    }
    return false;
  }

  /** Covered pairs and connected tentacles per node in the frozen final state. */
  finalSnapshot(): { covered: number; connected: number[] } {
    const f = this.final;
    const connected = new Array<number>(this.N).fill(0);
    let covered = 0;
    for (let t = 0; t < this.T; t++) {
      for (let n = 0; n < this.N; n++) {
        if ((f ? f.conns : this.pairConns)[t * this.N + n]! > 0) connected[n]!++;
        if (this.isCoveredFinal(t, n)) covered++;
      }
    }
    return { covered, connected };
  }

  /** Covered pairs, connected tentacles per node and covered tentacles per node, now. */
  snapshot(at: number): { covered: number; connected: number[]; coveredPerNode: number[] } {
    const connected = new Array<number>(this.N).fill(0);
    const coveredPerNode = new Array<number>(this.N).fill(0);
    let covered = 0;
    for (let t = 0; t < this.T; t++) {
      for (let n = 0; n < this.N; n++) {
        if (this.pairConns[t * this.N + n]! > 0) connected[n]!++;
        if (this.isCovered(t, n, at)) {
          covered++;
          coveredPerNode[n]!++;
        }
      }
    }
    for (let n = 0; n < this.N; n++) if (connected[n]! > this.nodes[n]!.maxConnected) this.nodes[n]!.maxConnected = connected[n]!;
    return { covered, connected, coveredPerNode };
  }

  /** Take one timeline sample (the caller's ticker calls this once per interval). */
  sample(at: number, phase: Phase): TimelinePoint {
    const { covered, connected, coveredPerNode } = this.snapshot(at);
    const nodes: Record<string, number> = {};
    const nodeCoverage: Record<string, number> = {};
    this.plan.nodeNames.forEach((name, i) => {
      nodes[name] = connected[i]!;
      nodeCoverage[name] = coveredPerNode[i]!;
    });
    const point: TimelinePoint = {
      t: Math.round(at - this.startedAt),
      coverage: this.T * this.N ? covered / (this.T * this.N) : 0,
      nodes,
      nodeCoverage,
      polls: this.#iPolls,
      handshakes: this.#iHandshakes,
      errors: this.#iErrors,
      reconnects: this.#iReconnects,
      phase,
    };
    this.#iPolls = this.#iHandshakes = this.#iErrors = this.#iReconnects = 0;
    this.timeline.push(point);
    return point;
  }
}
