import { formatMs } from '../core/format.js';
import type { Summary } from '../result/result.js';

/**
 * How close collection came to the polling request queue timeout: "p99 pickup 1 min 41 s of
 * the 2 min limit: 16 % headroom". Over the limit, requests expire (the RPC fails; a Tentacle
 * retries it while RPC retries are on). Null when pickup or the limit was not measured.
 */
export function pickupHeadroom(s: Summary): string | null {
  const p99 = s.pickupMs?.p99 ?? null;
  const limit = s.pickupLimitMs ?? null;
  if (p99 === null || limit === null || limit <= 0) return null;
  const head = `p99 pickup ${formatMs(p99)} of the ${formatMs(limit)} limit`;
  // Pickup counts collected requests only: expired ones waited the whole limit and more.
  const expired = s.requests?.expired ?? 0;
  if (expired > 0) return `${head}, and ${expired} request${expired === 1 ? '' : 's'} not collected within it expired: no headroom`;
  if (p99 >= limit) return `${head}: no headroom, requests expire`;
  return `${head}: ${Math.round(((limit - p99) / limit) * 100)} % headroom`;
}

/** Finished tasks per kind: "tasks: health 104 Success, 13 Failed | deploy 67 Success". Null when none ran. */
export function taskCountsLine(s: Summary): string | null {
  if (!s.tasks) return null;
  const kinds = Object.entries(s.tasks).filter(([, byState]) => Object.keys(byState).length > 0);
  if (kinds.length === 0) return null;
  return `tasks: ${kinds.map(([kind, byState]) => `${kind} ${Object.entries(byState).map(([state, n]) => `${n} ${state}`).join(', ')}`).join(' | ')}`;
}
