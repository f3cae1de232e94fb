/**
 * Durations in scenarios and flags: `350ms`, `30s`, `2m`, `1h`, `1m30s`, or a bare number of
 * milliseconds. Returns milliseconds, or null when the text is not a duration.
 */
import { z } from 'zod';

/**
 * The longest wait a Node timer holds (2^31 - 1 ms, 24.8 days): setTimeout fires a longer one
 * after 1 ms, so `pollingQueueWait: 999999h` would be a node answering in a busy loop and a run
 * of `999999h` would end at once.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;
/** MAX_DURATION_MS in whole hours, as messages write it: 596h. */
export const MAX_DURATION_TEXT = `${Math.floor(MAX_DURATION_MS / 3_600_000)}h`;

/** A duration field of a scenario or a fault, in milliseconds: a duration text or a number of ms, at most MAX_DURATION_MS. */
export const durationSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 350ms, 30s, 2m or 1h, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  if (ms > MAX_DURATION_MS) {
    ctx.addIssue({ code: 'custom', message: `expected at most ${MAX_DURATION_TEXT} (${Math.floor(MAX_DURATION_MS / 8_640_000) / 10} days, the longest a timer can wait), got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(input: string | number): number | null {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : null;
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  if (!/^(\d+(?:\.\d+)?(ms|s|m|h))+$/.test(text)) return null;
  let ms = 0;
  for (const m of text.matchAll(PART_RE)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** 1500 -> "1.5s", 120000 -> "2m", 350 -> "350ms" (for plans and labels). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(2)}s`;
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    const s = Math.round((ms % 60_000) / 1000);
    return s ? `${m}m${s}s` : `${m}m`;
  }
  return `${+(ms / 3_600_000).toFixed(2)}h`;
}
