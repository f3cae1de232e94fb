/**
 * .NET TimeSpan as Newtonsoft writes it ("c" format): `[-][d.]hh:mm:ss[.fffffff]`.
 * The protocol's defaults are whole seconds, e.g. `00:02:00`.
 */
export function formatTimeSpan(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`TimeSpan must be finite, got ${ms}`);
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  const days = Math.floor(rest / 86_400_000);
  rest -= days * 86_400_000;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const fractionMs = rest - seconds * 1000;
  const pad = (n: number) => String(n).padStart(2, '0');
  let out = `${sign}${days > 0 ? days + '.' : ''}${pad(hours)}:${pad(minutes)}:${pad(seconds)}`;
  if (fractionMs > 0) out += '.' + String(Math.round(fractionMs * 10_000)).padStart(7, '0');
  return out;
}

const TIMESPAN_RE = /^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;

export function parseTimeSpan(text: string): number {
  const m = TIMESPAN_RE.exec(text);
  if (!m) throw new RangeError(`not a TimeSpan: ${JSON.stringify(text)}`);
  const [, neg, d, h, mi, s, f] = m;
  const ms =
    Number(d ?? 0) * 86_400_000 + Number(h) * 3_600_000 + Number(mi) * 60_000 + Number(s) * 1000 +
    (f ? Number(f.padEnd(7, '0')) / 10_000 : 0);
  return neg ? -ms : ms;
}
