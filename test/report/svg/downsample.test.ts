import t from 'tap';
import { minMaxDecimate, peakColumns } from '../../../src/report/svg/downsample.js';

const series = (n: number, y: (i: number) => number) => Array.from({ length: n }, (_, i) => [i * 1000, y(i)] as const);

t.test('minMaxDecimate: few points untouched; many at most 2 per bucket, extremes and order kept', async (t) => {
  const few = series(100, (i) => i);
  t.equal(minMaxDecimate(few, 1000), few, 'short series returned as is');
  // a day at one point per second, full coverage but for one second at 40 % and one at 70 %
  const day = series(86_400, (i) => (i === 50_000 ? 0.4 : i === 70_001 ? 0.7 : 1));
  const d = minMaxDecimate(day, 1000);
  t.ok(d.length <= 2000, `at most 2,000 points (${d.length})`);
  t.ok(d.some((p) => p[0] === 50_000_000 && p[1] === 0.4), 'the one-second dip survives, at its time');
  t.ok(d.some((p) => p[1] === 0.7), 'so does the other');
  t.equal(d[0]![0], 0, 'starts at the first point');
  t.ok(d.every((p, i) => i === 0 || p[0] > d[i - 1]![0]), 'x ascending');
});

t.test('peakColumns: merged spans keep their busiest interval', async (t) => {
  const few = series(10, (i) => i);
  t.same(peakColumns(few, 600), { points: few, per: 1 });
  const burst = series(7_200, (i) => (i === 3_601 ? 95 : i % 7));
  const { points, per } = peakColumns(burst, 600);
  t.equal(per, 12);
  t.equal(points.length, 600);
  t.same(points[300], [3_600_000, 95], 'the burst is its span column, at the span start');
  t.equal(points[0]![1], 6, 'others: the busiest of their 12');
  t.ok(points.every((p, i) => i === 0 || p[0] - points[i - 1]![0] === 12_000), 'equally spaced');
});
