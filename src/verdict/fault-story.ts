import type { FaultFacts } from '../metrics/fault-analysis.js';
import { formatClock, formatMs } from '../core/format.js';
import type { FaultResult } from '../result/result.js';

/** How a fault reads in its story: the words its kind gives (src/faults/<kind>.ts, `story`). */
export interface FaultStoryWords {
  /** What happened, e.g. "node2 crashed (SIGKILL)". */
  what: string;
  /** What "back" means for recovery, e.g. "node2 returned" or "they noticed". */
  back: string;
  /** An extra sentence on how the fault can be noticed, given the receive timeout in words. */
  note?(receiveRequestTimeout: string): string;
}

const s = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * A fault's story in plain words, from its numbers (FaultResult), the facts the analysis
 * measured, and the words of its kind (the fault definition's `story`):
 * "node2 crashed (SIGKILL) at 0:30 for 40 s: all 6 affected pairs noticed within 0.1 s (p99); ..."
 */
export function faultStory(r: FaultResult, words: FaultStoryWords, x: FaultFacts & { receiveRequestTimeoutMs: number }): string {
  if (!x.started) return `${r.name} did not start: the run ended first.`;
  const parts: string[] = [];
  const head = `${words.what} at ${formatClock(r.atMs)}${r.forMs !== null ? ` for ${formatMs(r.forMs)}` : ''}`;
  const d = r.detectionMs;
  const noticed = d.count;
  if (r.affectedPairs === 0) parts.push('no connected pair was in its reach');
  else if (noticed === 0) parts.push(`none of the ${s(r.affectedPairs, 'affected pair')} lost its connection`);
  else {
    parts.push(`${noticed === r.affectedPairs ? 'all ' : ''}${noticed}${noticed === r.affectedPairs ? '' : ` of ${r.affectedPairs}`} affected pairs noticed within ${formatMs(d.p99)} (p99, max ${formatMs(d.max)})`);
  }
  if (words.note) parts.push(words.note(formatMs(x.receiveRequestTimeoutMs)));
  const where = x.node ? ` on ${x.node}` : '';
  if (r.expired > 0) {
    const lostNote = x.lost > 0 ? ` (${x.lost} still queued when the process went away)` : '';
    parts.push(`${s(r.expired, 'request')} queued${where} expired${lostNote} -- in real Octopus, failed task steps`);
  } else if (r.queuedDuringFault > 0) parts.push(`${s(r.queuedDuringFault, 'request')} queued${where} during the fault, none expired`);
  else parts.push('no work expired');
  const lost = r.lostAfterCollection ?? 0;
  if (lost > 0) parts.push(`${s(lost, 'request')}${where} lost after collection (handed to a dead connection, never requeued) -- in real Octopus, failed task steps`);
  const rec = r.recoveryMs;
  if (noticed > 0) {
    if (rec.count === 0) parts.push('none of them was identified again within the run');
    else {
      const all = rec.count === noticed ? `all ${rec.count}` : `${rec.count} of ${noticed}`;
      parts.push(`${all} were identified again ${formatMs(rec.p99)} (p99) after ${words.back}, with ${s(r.reconnectAttempts, 'connection attempt')} (peak ${r.peakHandshakesPerSec}/s)`);
    }
  }
  if (x.fullAtMs !== null) parts.push(`full coverage again at ${formatClock(x.fullAtMs)}`);
  else if (x.endAtMs === null) parts.push('the fault lasted to the end of the run');
  else parts.push('coverage did not return to 100 % within the run');
  return `${head}: ${parts.join('; ')}.`;
}
