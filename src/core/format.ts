/**
 * Shared number, share and duration formatting for every renderer (console, markdown,
 * HTML, JUnit messages). Pure functions; `null` (not measured) always prints as NOT_MEASURED.
 */

/** What a renderer prints for a figure that could not be measured. */
export const NOT_MEASURED = '—';

const MS_PER_S = 1000;
const S_PER_MIN = 60;
const MIN_PER_H = 60;

/** Round to `digits` significant digits and drop trailing zeros: 1.2345 -> '1.23'. */
export function formatSignificant(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  return String(Number(value.toPrecision(digits)));
}

/** Whole numbers with thousands separators: 12345 -> '12,345'. Fractions keep up to 2 decimals. */
export function formatCount(value: number | null): string {
  if (value === null) return NOT_MEASURED;
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/**
 * A duration given in milliseconds, in the unit a person reads best:
 * 0.42 -> '0.42 ms', 12.3 -> '12.3 ms', 850 -> '850 ms', 1234 -> '1.23 s',
 * 65_000 -> '1 min 5 s', 3_723_000 -> '1 h 2 min'.
 */
export function formatMs(ms: number | null): string {
  if (ms === null) return NOT_MEASURED;
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < MS_PER_S) {
    const text = abs >= 100 ? String(Math.round(abs)) : formatSignificant(abs, 3);
    // 999.6 ms rounds up to a full second: say so in seconds.
    if (Number(text) < MS_PER_S) return `${sign}${text} ms`;
  }
  const seconds = abs / MS_PER_S;
  if (seconds < S_PER_MIN) {
    const text = formatSignificant(seconds, 3);
    if (Number(text) < S_PER_MIN) return `${sign}${text} s`;
  }
  const totalS = Math.round(seconds);
  if (totalS < S_PER_MIN * MIN_PER_H) {
    const min = Math.floor(totalS / S_PER_MIN);
    const s = totalS % S_PER_MIN;
    return s === 0 ? `${sign}${min} min` : `${sign}${min} min ${s} s`;
  }
  const totalMin = Math.round(totalS / S_PER_MIN);
  const h = Math.floor(totalMin / MIN_PER_H);
  const min = totalMin % MIN_PER_H;
  return min === 0 ? `${sign}${h} h` : `${sign}${h} h ${min} min`;
}

/** Milliseconds since run start as a clock reading: 30_000 -> '0:30', 3_723_000 -> '1:02:03'. */
export function formatClock(ms: number): string {
  const totalS = Math.max(0, Math.floor(ms / MS_PER_S));
  const s = totalS % S_PER_MIN;
  const totalMin = Math.floor(totalS / S_PER_MIN);
  const min = totalMin % MIN_PER_H;
  const h = Math.floor(totalMin / MIN_PER_H);
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(min).padStart(2, '0')}:${ss}` : `${totalMin}:${ss}`;
}

/**
 * A share 0..1 as a percentage: 0.6667 -> '66.7 %'. Never rounds a partial share to
 * '100 %' or '0 %' (0.9999 -> '99.99 %'), so "fully covered" is only printed when it is true.
 */
export function formatPct(share: number | null, decimals = 1): string {
  if (share === null) return NOT_MEASURED;
  if (!Number.isFinite(share)) return String(share);
  const pct = share * 100;
  if (pct === 100 || pct === 0) return `${pct} %`;
  let d = decimals;
  let text = pct.toFixed(d);
  while ((Number(text) >= 100 || Number(text) <= 0) && d < 6) {
    d += 1;
    text = pct.toFixed(d);
  }
  return `${String(Number(text))} %`;
}

/** Seconds with up to 3 decimals for machine-facing text (JUnit time=, Prometheus values). */
export function msToSeconds(ms: number): number {
  return Math.round(ms) / MS_PER_S;
}

/** ISO time as 'YYYY-MM-DD HH:MM:SS UTC' (stable across machines, no locale). */
export function formatTimestamp(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** 'a', 'a and b', 'a, b and c'. */
export function formatList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** '1 tentacle', '3 tentacles'. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : pluralForm}`;
}
