import type { FaultFacts } from '../metrics/fault-analysis.js';
import { formatClock, formatMs } from '../core/format.js';
import type { FaultResult } from '../result/result.js';
import { RPC_RETRY_DEFAULTS } from '../scenario/defaults.js';

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

/** A retry window in minutes: 150_000 -> "2.5 min". */
export function formatRetryWindow(windowMs: number): string {
  return `${Number((windowMs / 60_000).toFixed(1))} min`;
}

/**
 * What an expired request means in real Octopus (one clause, used by the fault story and the
 * diagnosis): not a failed step by itself, a failed RPC that Tentacle's client retries.
 */
export function expiredMeaning(windowMs: number = RPC_RETRY_DEFAULTS.windowMs): string {
  return `an expired request fails the RPC; Tentacle retries it for about ${Number((windowMs / 60_000).toFixed(1))} minutes when RPC retries are on, ` +
    'so a deployment step fails when collection stays impossible longer than that';
}

/**
 * A fault's recovery against the RPC retry window: "recovered in 48 s: within the 2.5 min RPC
 * retry window" / "recovered in 3 min 10 s: outside the 2.5 min RPC retry window: steps would fail".
 * `recoveryMs`: from the fault to full coverage again (how long collection was impossible for some pair).
 */
export function recoveryVersusRetryWindow(recoveryMs: number, windowMs: number = RPC_RETRY_DEFAULTS.windowMs): string {
  const window = `the ${formatRetryWindow(windowMs)} RPC retry window`;
  return recoveryMs <= windowMs
    ? `recovered in ${formatMs(recoveryMs)}: within ${window}`
    : `recovered in ${formatMs(recoveryMs)}: outside ${window}: steps would fail`;
}

/**
 * A fault's story in plain words, from its numbers (FaultResult), the facts the analysis
 * measured, and the words of its kind (the fault definition's `story`):
 * "node2 crashed (SIGKILL) at 0:30 for 40 s: all 6 affected pairs noticed within 0.1 s (p99); ..."
 */
export function faultStory(r: FaultResult, words: FaultStoryWords, x: FaultFacts & { receiveRequestTimeoutMs: number; rpcRetryWindowMs?: number }): string {
  const windowMs = x.rpcRetryWindowMs ?? RPC_RETRY_DEFAULTS.windowMs;
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
    parts.push(`${s(r.expired, 'request')} queued${where} expired${lostNote} -- ${expiredMeaning(windowMs)}`);
  } else if (r.queuedDuringFault > 0) parts.push(`${s(r.queuedDuringFault, 'request')} queued${where} during the fault, none expired`);
  else parts.push('no work expired');
  const lost = r.lostAfterCollection ?? 0;
  if (lost > 0) parts.push(`${s(lost, 'request')}${where} lost after collection (handed to a dead connection, never requeued) -- in real Octopus, the RPC fails for its caller`);
  const rec = r.recoveryMs;
  if (noticed > 0) {
    if (rec.count === 0) parts.push('none of them was identified again within the run');
    else {
      const all = rec.count === noticed ? `all ${rec.count}` : `${rec.count} of ${noticed}`;
      parts.push(`${all} were identified again ${formatMs(rec.p99)} (p99) after ${words.back}, with ${s(r.reconnectAttempts, 'connection attempt')} (peak ${r.peakHandshakesPerSec}/s)`);
    }
  }
  if (x.fullAtMs !== null) {
    parts.push(`full coverage again at ${formatClock(x.fullAtMs)}`);
    // Only when some pair lost its connection: that is when collection was impossible.
    if (noticed > 0) parts.push(recoveryVersusRetryWindow(Math.max(0, x.fullAtMs - r.atMs), windowMs));
  } else if (x.endAtMs === null) parts.push('the fault lasted to the end of the run');
  else parts.push('coverage did not return to 100 % within the run');
  return `${head}: ${parts.join('; ')}.`;
}
