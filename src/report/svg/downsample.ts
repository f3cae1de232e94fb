/**
 * Fewer points for a chart than a long run has seconds (a day is 86,400), drawn the same: no
 * chart is wider than ~1,000 px, so more points only make the report heavy. Extremes survive:
 * a one-second coverage dip or handshake burst still shows.
 */

type Point = readonly [number, number];

/**
 * At most 2 x `buckets` points: each run of consecutive points becomes its lowest and its
 * highest, in x order (min/max decimation). Fewer points than that are returned as they are.
 */
export function minMaxDecimate(points: ReadonlyArray<Point>, buckets: number): ReadonlyArray<Point> {
  if (points.length <= 2 * buckets) return points;
  const out: Point[] = [];
  const size = points.length / buckets;
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(points.length, Math.floor((b + 1) * size));
    let lo = points[from]!;
    let hi = points[from]!;
    for (let i = from + 1; i < to; i++) {
      const p = points[i]!;
      if (p[1] < lo[1]) lo = p;
      if (p[1] > hi[1]) hi = p;
    }
    if (lo === hi) out.push(lo);
    else if (lo[0] <= hi[0]) out.push(lo, hi);
    else out.push(hi, lo);
  }
  return out;
}

/** Equally spaced [x, count] columns merged `per` at a time into their busiest one (x: the first's). */
export function peakColumns(points: ReadonlyArray<Point>, maxColumns: number): { points: Point[]; per: number } {
  const per = Math.max(1, Math.ceil(points.length / maxColumns));
  if (per === 1) return { points: [...points], per };
  const out: Point[] = [];
  for (let i = 0; i < points.length; i += per) {
    let peak = 0;
    for (let j = i; j < Math.min(points.length, i + per); j++) peak = Math.max(peak, points[j]![1]);
    out.push([points[i]![0], peak]);
  }
  return { points: out, per };
}
