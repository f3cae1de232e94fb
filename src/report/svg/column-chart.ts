import { chartFrame, type ChartFrame } from './chart-frame.js';
import { escapeXml } from './escape.js';
import { linearScale, niceMax, px } from './scale.js';
import type { ShadedWindow } from './line-chart.js';
import { peakColumns } from './downsample.js';
import { maxOf } from '../../core/numbers.js';

/** Columns drawn at most (a chart is at most ~1,000 px wide). */
const MAX_COLUMNS = 600;

/** Counts per interval as columns (handshakes per second, reconnects per second). */

export interface ColumnChartOptions extends Omit<ChartFrame, 'width' | 'height'> {
  /** [x, count] per interval, x ascending, equally spaced. */
  points: ReadonlyArray<readonly [number, number]>;
  colour: string;
  windows?: ShadedWindow[];
  width?: number;
  height?: number;
  xFormat: (x: number) => string;
  /** Name of one count, for each column's tooltip ("handshakes"). */
  unit: string;
}

export function columnChart(o: ColumnChartOptions): string {
  const width = o.width ?? 640;
  const height = o.height ?? 160;
  const m = { top: 12, right: 16, bottom: 28, left: 52 };
  // A long run has more seconds than the chart has pixels: each column is then the busiest second of its span.
  const { points: pts, per } = peakColumns(o.points, MAX_COLUMNS);
  const step = pts.length > 1 ? pts[1]![0] - pts[0]![0] : 1;
  const x0 = pts.length ? pts[0]![0] : 0;
  const x1 = pts.length ? pts[pts.length - 1]![0] + step : 1;
  const x = linearScale([x0, x1], [m.left, width - m.right]);
  const y = linearScale([0, niceMax(maxOf(pts.map((p) => p[1]), 0))], [height - m.bottom, m.top]);
  const parts: string[] = [];
  for (const w of o.windows ?? []) {
    const a = x(Math.max(w.from, x0));
    const b = x(Math.min(w.to, x1));
    if (b > a) parts.push(`<rect x="${px(a)}" y="${m.top}" width="${px(b - a)}" height="${height - m.top - m.bottom}" fill="#cf222e" fill-opacity="0.12" class="window"><title>${escapeXml(w.label)}</title></rect>`);
  }
  for (const v of y.ticks(3)) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${px(y(v))}" y2="${px(y(v))}" class="grid"/>`);
    parts.push(`<text x="${m.left - 6}" y="${px(y(v) + 4)}" text-anchor="end" class="tick">${escapeXml(String(v))}</text>`);
  }
  for (const v of x.ticks(6)) {
    if (v > x1 - step) continue;
    parts.push(`<text x="${px(x(v))}" y="${height - m.bottom + 16}" text-anchor="middle" class="tick">${escapeXml(o.xFormat(v))}</text>`);
  }
  parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${height - m.bottom}" y2="${height - m.bottom}" class="axis"/>`);
  const colW = Math.max(1, x(x0 + step) - x(x0) - 1);
  let drawn = 0;
  for (const [t, n] of pts) {
    if (n <= 0) continue;
    drawn += 1;
    parts.push(
      `<rect x="${px(x(t))}" y="${px(y(n))}" width="${px(colW)}" height="${px(y(0) - y(n))}" fill="${escapeXml(o.colour)}" class="column">` +
        `<title>${escapeXml(per === 1 ? `${o.xFormat(t)}: ${n} ${o.unit}` : `${o.xFormat(t)}–${o.xFormat(t + step)}: busiest interval ${n} ${o.unit}`)}</title></rect>`,
    );
  }
  if (drawn === 0) parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="empty">none</text>`);
  return chartFrame({ id: o.id, title: o.title, description: o.description, width, height, className: o.className }, parts.join(''));
}
