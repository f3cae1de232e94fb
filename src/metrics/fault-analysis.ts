import type { PollfleetEvent } from '../core/events.js';
import type { FaultResult, TimelinePoint } from '../result/result.js';
import { DurationHistogram } from '../result/histogram.js';
import { maxOf } from '../core/numbers.js';

/** One fault as the analysis needs it (from the resolved scenario and its kind's definition). */
export interface AnalyzedFault {
  name: string;
  action: string;
  /** As written: `node2`, `balancer:node2`, `route`. */
  target: string;
  /** The node the fault hits; null = every node (route, balancer). */
  node: string | null;
  forMs: number | null;
  /** The target is unreachable until the fault is undone: recovery counts from the fault's end. */
  blocksTarget: boolean;
  /** Requests still queued on the node when the fault ends are lost (crash, stop). */
  losesQueuedWork: boolean;
}

/** What a fault's story is built from beyond its FaultResult (src/verdict/fault-story.ts). */
export interface FaultFacts {
  /** The fault started before the run ended. */
  started: boolean;
  /** The node the fault hit; null = every node (route, balancer). */
  node: string | null;
  /** Requests still queued on the node when its process went away (counted in `expired`). */
  lost: number;
  /** Coverage whole again, ms since run start (null: not within the run). */
  fullAtMs: number | null;
  /** The fault's end, ms since run start (null: not undone within the run). */
  endAtMs: number | null;
}

/** One fault's numbers (its story still empty) and the facts its story is built from. */
export interface FaultMeasurement {
  result: FaultResult;
  facts: FaultFacts;
}

export interface FaultAnalysisPlan {
  faults: AnalyzedFault[];
  nodeNames: string[];
  tentacles: number;
  /** For each of tentacle t's server entries: the node index it reaches, or -1 (a balanced address). */
  entryNodes(t: number): number[];
  /** Does tentacle t have an identified connection to node n right now? */
  isConnected(t: number, n: number): boolean;
  runStartedAt: number;
  backoff: 'faithful' | 'shortened';
  /** Detection counts closes up to this long after the fault ended (slow timeouts). */
  receiveRequestTimeoutMs: number;
  /** Expiries are counted up to this long after the fault ended. */
  pollingRequestQueueTimeoutMs: number;
  /**
   * The end of the measured run (epoch ms), once known: requests lost after it were lost to
   * pollfleet's own shutdown (tentacles stopping with work in flight), not to a fault.
   */
  runEndedAt?: () => number | null;
}

const ENTRY_SLOTS = 64;

interface Tracking {
  fault: AnalyzedFault;
  nodeIndex: number;
  startAt: number;
  endAt: number | null;
  affected: Set<number>;
  detectedAt: Map<number, number>;
  recoveredAt: Map<number, number>;
  /**
   * TLS handshake attempts of affected pairs per second since the fault started: every
   * connection that got as far as TCP (`tcp-connected`), quick retries included, whether its
   * handshake then succeeded or not -- the load a returning fleet puts on the nodes.
   */
  handshakes: Map<number, number>;
  /** Connection attempts (`connect-start`) of affected pairs between detection and recovery: both retry loops. */
  attempts: number;
  queued: number;
  expired: number;
  /** Requests of the fault's node(s) collected and then lost with their connection (request-lost). */
  lostAfterCollection: number;
  /** Requests still queued on the node when its process went away (crash, stop): lost. */
  lost: number;
  failures: string[];
}

/**
 * Per-fault measurements from the event stream and the fault timeline: who was affected,
 * when each affected pair noticed (detection), when it was identified again (recovery),
 * the work queued and lost meanwhile, the reconnect load, and when coverage was whole
 * again. Fed as an event subscriber; the timeline calls started/ended/failed.
 */
export class FaultAnalyzer {
  readonly #p: FaultAnalysisPlan;
  readonly #t: Array<Tracking | undefined>;
  readonly #nodeIndex = new Map<string, number>();
  /** Requests queued and not yet collected or expired, per node: requestKey -> enqueuedAt. */
  readonly #pending = new Map<string, Map<number, number>>();

  constructor(plan: FaultAnalysisPlan) {
    this.#p = plan;
    this.#t = plan.faults.map(() => undefined);
    plan.nodeNames.forEach((n, i) => {
      this.#nodeIndex.set(n, i);
      this.#pending.set(n, new Map());
    });
  }

  started(index: number, at: number): void {
    const fault = this.#p.faults[index]!;
    const nodeIndex = fault.node === null ? -1 : (this.#nodeIndex.get(fault.node) ?? -1);
    const affected = new Set<number>();
    for (let t = 0; t < this.#p.tentacles; t++) {
      this.#p.entryNodes(t).forEach((n, e) => {
        const hit = n >= 0
          ? (nodeIndex < 0 || n === nodeIndex) && this.#p.isConnected(t, n)
          : nodeIndex < 0
            ? this.#p.nodeNames.some((_, m) => this.#p.isConnected(t, m))
            : this.#p.isConnected(t, nodeIndex);
        if (hit) affected.add(t * ENTRY_SLOTS + e);
      });
    }
    this.#t[index] = {
      fault, nodeIndex, startAt: at, endAt: null, affected, detectedAt: new Map(), recoveredAt: new Map(), handshakes: new Map(),
      attempts: 0, queued: 0, expired: 0, lostAfterCollection: 0, lost: 0, failures: [],
    };
  }

  ended(index: number, at: number): void {
    const tr = this.#t[index];
    if (!tr) return;
    tr.endAt = at;
    // a node process that went away took its queue with it: what was still queued is lost
    if (tr.fault.node !== null && tr.fault.losesQueuedWork) {
      const pending = this.#pending.get(tr.fault.node)!;
      tr.lost += pending.size;
      pending.clear();
    }
  }

  failed(index: number, message: string): void {
    this.#t[index]?.failures.push(message);
  }

  #hitsNode(tr: Tracking, node: string): boolean {
    return tr.fault.node === null || tr.fault.node === node;
  }

  readonly record = (e: PollfleetEvent): void => {
    switch (e.type) {
      case 'closed': {
        if (e.reason === 'stopped') return;
        const key = e.tentacle * ENTRY_SLOTS + e.entry;
        // a close is blamed on the latest fault that could have caused it
        let blamed: Tracking | undefined;
        for (const tr of this.#t) {
          if (!tr || !tr.affected.has(key) || e.at < tr.startAt) continue;
          if (tr.endAt !== null && e.at > tr.endAt + this.#p.receiveRequestTimeoutMs) continue;
          if (!blamed || tr.startAt >= blamed.startAt) blamed = tr;
        }
        if (blamed && !blamed.detectedAt.has(key)) blamed.detectedAt.set(key, e.at);
        return;
      }
      case 'connect-start': {
        const key = e.tentacle * ENTRY_SLOTS + e.entry;
        for (const tr of this.#t) if (tr && tr.detectedAt.has(key) && !tr.recoveredAt.has(key)) tr.attempts++;
        return;
      }
      case 'tcp-connected': {
        // a TLS handshake starts on every connection that reached TCP, quick retries included
        const key = e.tentacle * ENTRY_SLOTS + e.entry;
        for (const tr of this.#t) {
          if (!tr || !tr.detectedAt.has(key) || tr.recoveredAt.has(key)) continue;
          const second = Math.floor((e.at - tr.startAt) / 1000);
          tr.handshakes.set(second, (tr.handshakes.get(second) ?? 0) + 1);
        }
        return;
      }
      case 'identified': {
        const key = e.tentacle * ENTRY_SLOTS + e.entry;
        for (const tr of this.#t) {
          if (!tr || !tr.detectedAt.has(key) || tr.recoveredAt.has(key)) continue;
          tr.recoveredAt.set(key, e.at);
        }
        return;
      }
      case 'request-queued': {
        this.#pending.get(e.node)?.set(e.requestKey, e.at);
        for (const tr of this.#t) {
          if (tr && this.#hitsNode(tr, e.node) && e.at >= tr.startAt && (tr.endAt === null || e.at <= tr.endAt)) tr.queued++;
        }
        return;
      }
      case 'request-dispatched':
        this.#pending.get(e.owner)?.delete(e.requestKey);
        return;
      case 'request-lost': {
        this.#pending.get(e.owner)?.delete(e.requestKey);
        const end = this.#p.runEndedAt?.() ?? null;
        if (end !== null && e.at > end) return; // the shutdown's, not a fault's
        for (const tr of this.#t) {
          if (!tr || !this.#hitsNode(tr, e.owner) || e.at < tr.startAt) continue;
          if (tr.endAt !== null && e.at > tr.endAt + this.#p.pollingRequestQueueTimeoutMs) continue;
          tr.lostAfterCollection++;
        }
        return;
      }
      case 'request-expired': {
        this.#pending.get(e.node)?.delete(e.requestKey);
        for (const tr of this.#t) {
          if (!tr || !this.#hitsNode(tr, e.node) || e.at < tr.startAt) continue;
          if (tr.endAt !== null && (e.enqueuedAt > tr.endAt || e.at > tr.endAt + this.#p.pollingRequestQueueTimeoutMs)) continue;
          tr.expired++;
        }
        return;
      }
      default:
        return;
    }
  };

  /** One FaultResult per fault, in timeline order (faults that never started are reported as such); stories are left empty. */
  results(timeline: readonly TimelinePoint[]): FaultResult[] {
    return this.measure(timeline).map((m) => m.result);
  }

  /** One measurement per fault, in timeline order: the numbers, and the facts for its story. */
  measure(timeline: readonly TimelinePoint[]): FaultMeasurement[] {
    return this.#p.faults.map((fault, i) => this.#result(fault, this.#t[i], timeline));
  }

  #result(fault: AnalyzedFault, tr: Tracking | undefined, timeline: readonly TimelinePoint[]): FaultMeasurement {
    const p = this.#p;
    const base = { name: fault.name, action: fault.action, target: fault.target, forMs: fault.forMs, backoff: p.backoff };
    const detection = new DurationHistogram();
    const recovery = new DurationHistogram();
    if (!tr) {
      const result: FaultResult = {
        ...base, atMs: 0, affectedPairs: 0, detectionMs: detection.quantiles(), recoveryMs: recovery.quantiles(),
        timeToFullCoverageMs: null, queuedDuringFault: 0, expired: 0, lostAfterCollection: 0, reconnectAttempts: 0, peakHandshakesPerSec: 0,
        story: '', pass: false, reasons: ['the fault did not start before the run ended'],
      };
      return { result, facts: { started: false, node: fault.node, lost: 0, fullAtMs: null, endAtMs: null } };
    }
    let lastRecovered = 0;
    for (const [key, at] of tr.detectedAt) {
      detection.recordMs(Math.max(0, at - tr.startAt));
      const back = tr.recoveredAt.get(key);
      if (back === undefined) continue;
      const entryNode = p.entryNodes(Math.floor(key / ENTRY_SLOTS))[key % ENTRY_SLOTS] ?? -1;
      const from = fault.blocksTarget && entryNode >= 0 && tr.endAt !== null ? Math.max(tr.endAt, at) : at;
      recovery.recordMs(Math.max(0, back - from));
      if (back > lastRecovered) lastRecovered = back;
    }
    const ref = tr.endAt;
    let fullAt: number | null = null;
    // "full" is 100 %, or the best coverage before the fault when the run never had 100 % (a partial configuration)
    const startRel = tr.startAt - p.runStartedAt;
    const before = timeline.filter((x) => x.t < startRel && x.phase !== 'ramping' && x.phase !== 'registering').map((x) => x.coverage);
    const full = Math.min(1, maxOf(before, 1)) - 1e-9;
    if (ref !== null) {
      const fromRel = Math.max(ref, lastRecovered) - p.runStartedAt;
      const point = timeline.find((x) => x.t >= fromRel && x.coverage >= full && x.phase !== 'stopping');
      if (point) fullAt = point.t + p.runStartedAt;
    }
    const detected = tr.detectedAt.size;
    const recovered = tr.recoveredAt.size;
    const expired = tr.expired + tr.lost;
    const reasons = [...tr.failures];
    if (recovered < detected) reasons.push(`${detected - recovered} of ${detected} pairs that lost their connection were not identified again within the run`);
    if (ref === null) reasons.push('the fault was not undone within the run, so coverage could not return to 100 %');
    else if (fullAt === null) reasons.push('coverage did not return to 100 % within the run');
    const peak = Math.max(0, ...tr.handshakes.values());
    const r: FaultResult = {
      ...base,
      atMs: Math.round(tr.startAt - p.runStartedAt),
      affectedPairs: tr.affected.size,
      detectionMs: detection.quantiles(),
      recoveryMs: recovery.quantiles(),
      timeToFullCoverageMs: fullAt === null || ref === null ? null : Math.max(0, Math.round(fullAt - ref)),
      queuedDuringFault: tr.queued,
      expired,
      lostAfterCollection: tr.lostAfterCollection,
      reconnectAttempts: tr.attempts,
      peakHandshakesPerSec: peak,
      story: '',
      pass: reasons.length === 0,
      reasons,
    };
    return {
      result: r,
      facts: { started: true, node: fault.node, lost: tr.lost, fullAtMs: fullAt === null ? null : fullAt - p.runStartedAt, endAtMs: ref === null ? null : ref - p.runStartedAt },
    };
  }
}

