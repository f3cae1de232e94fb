/**
 * How long an HTTP 429 (or 503) asks the caller to wait: the `Retry-After` header is either
 * delay-seconds (`Retry-After: 12`) or an HTTP date (`Retry-After: Sat, 28 Nov 2026 23:59:00 GMT`),
 * RFC 9110 section 10.2.3. Returns milliseconds (0 for a date in the past), or null when the
 * header is missing or unreadable (the caller then waits its default).
 */
export function retryAfterMs(header: string | string[] | undefined, nowMs: number = Date.now()): number | null {
  const v = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Only dates: Date.parse also accepts things like "12.5" or "1 2", which are not valid here.
  if (!/[A-Za-z]/.test(v)) return null;
  const at = Date.parse(v);
  if (!Number.isFinite(at)) return null;
  return Math.max(0, at - nowMs);
}
