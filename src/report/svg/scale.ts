/**
 * Scales and tick choice for the SVG charts: a domain of data values onto a range of
 * pixels, linear or logarithmic, and "nice" round tick values.
 */

export interface Scale {
  (value: number): number;
  ticks(count: number): number[];
  domain: [number, number];
}

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain[0] === domain[1] ? [domain[0], domain[0] + 1] : domain;
  const [r0, r1] = range;
  const scale = ((v: number) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0)) as Scale;
  scale.ticks = (count: number) => niceTicks(d0, d1, count);
  scale.domain = [d0, d1];
  return scale;
}

/** Log10 scale for values > 0 (values <= 0 are clamped to the domain's lower end). */
export function logScale(domain: [number, number], range: [number, number]): Scale {
  const lo = Math.log10(Math.max(domain[0], Number.MIN_VALUE));
  const hi = Math.log10(Math.max(domain[1], domain[0] * 10));
  const [r0, r1] = range;
  const scale = ((v: number) => {
    const lv = Math.log10(Math.max(v, 10 ** lo));
    return r0 + ((lv - lo) / (hi - lo)) * (r1 - r0);
  }) as Scale;
  scale.ticks = () => {
    const out: number[] = [];
    for (let e = Math.ceil(lo); e <= Math.floor(hi); e += 1) out.push(10 ** e);
    return out;
  };
  scale.domain = [10 ** lo, 10 ** hi];
  return scale;
}

/** Round tick values (1, 2, 5 x 10^n steps) covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step, i = 0; v <= max + step * 1e-9 && i < 1000; v += step, i += 1) {
    out.push(Number(v.toPrecision(12)));
  }
  return out;
}

/** Upper end of a linear axis: the smallest nice tick >= max (at least 1). */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const ticks = niceTicks(0, max, 4);
  const last = ticks[ticks.length - 1]!;
  return last >= max ? last : last + (ticks[1] ?? max) - (ticks[0] ?? 0);
}

/** Coordinates are written with 1 decimal: small files, no visible loss. */
export function px(v: number): string {
  return String(Math.round(v * 10) / 10);
}
