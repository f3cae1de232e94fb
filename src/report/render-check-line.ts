import type { Result } from '../result/result.js';
import { formatMs, formatPct } from '../core/format.js';

/**
 * `pollfleet check`'s one line (cron mails it):
 * `pollfleet check direct: PASS coverage 100 % pickup p99 45 ms expired 0 lost 0 (reports/direct-...)`;
 * a failure names the first reason: `... FAIL requests.expired was 3, expected == 0; ...`.
 * `shownDir` is the run folder as the caller wants it shown.
 */
export function renderCheckLine(result: Result, shownDir: string): string {
  const s = result.summary;
  const figures = [
    `coverage ${formatPct(s.coverage.final)}`,
    `pickup p99 ${formatMs(s.pickupMs?.p99 ?? null)}`,
    `expired ${s.requests === null ? formatMs(null) : s.requests.expired}`,
    `lost ${s.requests === null ? formatMs(null) : (s.requests.lostAfterCollection ?? 0)}`,
  ].join(' ');
  const verdict = result.verdict.pass ? 'PASS' : `FAIL ${result.verdict.reasons[0] ?? 'see the report'}${result.verdict.reasons.length > 1 ? ` (+${result.verdict.reasons.length - 1} more)` : ''};`;
  return `pollfleet check ${result.name}: ${verdict} ${figures} (${shownDir})`;
}
