import type { PollfleetEvent } from '../core/events.js';
import { formatClock, formatMs } from '../report/format.js';
import type { FaultResult, TimelinePoint } from '../result/result.js';
import { DurationHistogram } from '../result/histogram.js';

/** One fault as the analysis needs it (from the resolved scenario and the action's definition). */
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
  /** For stories: the parameters in plain words, e.g. "200 ms +- 50 ms". */
  detail: string;
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
  /** Identifications of affected pairs per second since the fault started. */
  handshakes: Map<number, number>;
  attempts: number;
  queued: number;
  expired: number;
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
      attempts: 0, queued: 0, expired: 0, lost: 0, failures: [],
    };
  }

  ended(index: number, at: number): void {
    const tr = this.#t[index];
    if (!tr) return;
    tr.endAt = at;
    // a node process that went away took its queue with it: what was still queued is lost
    if (tr.fault.node !== null && ['crash', 'stop'].includes(tr.fault.action)) {
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
      case 'identified': {
        const key = e.tentacle * ENTRY_SLOTS + e.entry;
        for (const tr of this.#t) {
          if (!tr || !tr.detectedAt.has(key) || tr.recoveredAt.has(key)) continue;
          tr.recoveredAt.set(key, e.at);
          const second = Math.floor((e.at - tr.startAt) / 1000);
          tr.handshakes.set(second, (tr.handshakes.get(second) ?? 0) + 1);
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

  /** One FaultResult per fault, in timeline order (faults that never started are reported as such). */
  results(timeline: readonly TimelinePoint[]): FaultResult[] {
    return this.#p.faults.map((fault, i) => this.#result(fault, this.#t[i], timeline));
  }

  #result(fault: AnalyzedFault, tr: Tracking | undefined, timeline: readonly TimelinePoint[]): FaultResult {
    const p = this.#p;
    const base = { name: fault.name, action: fault.action, target: fault.target, forMs: fault.forMs, backoff: p.backoff };
    const detection = new DurationHistogram();
    const recovery = new DurationHistogram();
    if (!tr) {
      return {
        ...base, atMs: 0, affectedPairs: 0, detectionMs: detection.quantiles(), recoveryMs: recovery.quantiles(),
        timeToFullCoverageMs: null, queuedDuringFault: 0, expired: 0, reconnectAttempts: 0, peakHandshakesPerSec: 0,
        story: `${fault.name} did not start: the run ended first.`, pass: false, reasons: ['the fault did not start before the run ended'],
      };
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
    const full = Math.min(1, before.length ? Math.max(...before) : 1) - 1e-9;
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
      reconnectAttempts: tr.attempts,
      peakHandshakesPerSec: peak,
      story: '',
      pass: reasons.length === 0,
      reasons,
    };
    r.story = faultStory(r, fault, { lost: tr.lost, fullAtRel: fullAt === null ? null : fullAt - p.runStartedAt, endRel: ref === null ? null : ref - p.runStartedAt, receiveRequestTimeoutMs: p.receiveRequestTimeoutMs });
    return r;
  }
}

const s = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** How each action reads in a story: what happened, and what "returned" means. */
function phrases(f: AnalyzedFault): { what: string; back: string } {
  const t = f.node ?? (f.target === 'route' ? 'every polling connection' : 'the balancer');
  switch (f.action) {
    case 'crash': return { what: `${t} crashed (SIGKILL)`, back: `${t} returned` };
    case 'hang': return { what: `${t} hung (SIGSTOP)`, back: `${t} resumed` };
    case 'stop': return { what: `${t} stopped gracefully`, back: `${t} started again` };
    case 'drain': return { what: `${t} was put in drain mode (ping 418)`, back: 'they noticed' };
    case 'deregister': return { what: `${t} was deregistered from the balancer`, back: 'they noticed' };
    case 'unhealthy': return { what: `balancer target ${t} was marked unhealthy`, back: 'they noticed' };
    case 'latency': return { what: `${f.detail} latency was added on ${f.target}`, back: 'they noticed' };
    case 'bandwidth': return { what: `bandwidth on ${f.target} was limited to ${f.detail}`, back: 'they noticed' };
    case 'blackhole': return { what: `traffic on ${f.target} was blackholed (dropped, nothing closed)`, back: 'the blackhole was lifted' };
    case 'reset': return { what: `connections on ${f.target} were reset (RST)`, back: 'the reset' };
    case 'slice': return { what: `writes on ${f.target} were sliced into ${f.detail} pieces`, back: 'they noticed' };
    case 'limit-data': return { what: `connections on ${f.target} were closed after ${f.detail}`, back: 'they noticed' };
    case 'idle-timeout': return { what: `the balancer idle timeout was set to ${f.detail}`, back: 'they noticed' };
    case 'reconnect-storm': return { what: `every connection on ${f.target} was reset at once (reconnect storm)`, back: 'the reset' };
    case 'restart': return { what: `${t} was restarted`, back: `${t} returned` };
    case 'resume': return { what: `${t} was resumed (SIGCONT)`, back: 'they noticed' };
    case 'start': return { what: `${t} was started`, back: `${t} returned` };
    case 'undrain': return { what: `${t} left drain mode`, back: 'they noticed' };
    case 'register': return { what: `${t} was registered with the balancer`, back: 'they noticed' };
    default: return { what: `${f.action} on ${f.target}`, back: 'they noticed' };
  }
}

/** "node2 crashed (SIGKILL) at 0:30 for 40 s: 200 tentacles noticed within 0.1 s (p99); ..." */
export function faultStory(
  r: FaultResult,
  f: AnalyzedFault,
  x: { lost: number; fullAtRel: number | null; endRel: number | null; receiveRequestTimeoutMs: number },
): string {
  const ph = phrases(f);
  const parts: string[] = [];
  const head = `${ph.what} at ${formatClock(r.atMs)}${r.forMs !== null ? ` for ${formatMs(r.forMs)}` : ''}`;
  const d = r.detectionMs;
  const noticed = d.count;
  if (r.affectedPairs === 0) parts.push('no connected pair was in its reach');
  else if (noticed === 0) parts.push(`none of the ${s(r.affectedPairs, 'affected pair')} lost its connection`);
  else {
    parts.push(`${noticed === r.affectedPairs ? 'all ' : ''}${noticed}${noticed === r.affectedPairs ? '' : ` of ${r.affectedPairs}`} affected pairs noticed within ${formatMs(d.p99)} (p99, max ${formatMs(d.max)})`);
  }
  if (f.action === 'hang') {
    parts.push(
      `a stopped process's kernel still acknowledges data and TCP keep-alive probes, so keep-alive cannot reveal a hang: only the tentacle's receive timeout (${formatMs(x.receiveRequestTimeoutMs)}) can`,
    );
  }
  const where = f.node ? ` on ${f.node}` : '';
  if (r.expired > 0) {
    const lostNote = x.lost > 0 ? ` (${x.lost} still queued when the process went away)` : '';
    parts.push(`${s(r.expired, 'request')} queued${where} expired${lostNote} -- in real Octopus, failed task steps`);
  } else if (r.queuedDuringFault > 0) parts.push(`${s(r.queuedDuringFault, 'request')} queued${where} during the fault, none expired`);
  else parts.push('no work expired');
  const rec = r.recoveryMs;
  if (noticed > 0) {
    if (rec.count === 0) parts.push('none of them was identified again within the run');
    else {
      const all = rec.count === noticed ? `all ${rec.count}` : `${rec.count} of ${noticed}`;
      parts.push(`${all} were identified again ${formatMs(rec.p99)} (p99) after ${ph.back}, with ${s(r.reconnectAttempts, 'connection attempt')} (peak ${r.peakHandshakesPerSec}/s)`);
    }
  }
  if (x.fullAtRel !== null) parts.push(`full coverage again at ${formatClock(x.fullAtRel)}`);
  else if (x.endRel === null) parts.push('the fault lasted to the end of the run');
  else parts.push('coverage did not return to 100 % within the run');
  return `${head}: ${parts.join('; ')}.`;
}
