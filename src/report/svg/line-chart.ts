import { chartFrame, type ChartFrame } from './chart-frame.js';
import { escapeXml } from './escape.js';
import { linearScale, niceMax, px } from './scale.js';
import { minMaxDecimate } from './downsample.js';
import { maxOf, minOf } from '../../core/numbers.js';

/**
 * Line / area chart over time (x) with optional shaded windows (fault periods).
 * Used for coverage over time and, compact, for the comparison's mini charts.
 */

export interface LineSeries {
  name: string;
  /** [x, y] in data units, x ascending. */
  points: ReadonlyArray<readonly [number, number]>;
  colour: string;
  /** Fill the area under the line. */
  area?: boolean;
}

export interface ShadedWindow {
  from: number;
  to: number;
  label: string;
}

export interface LineChartOptions extends Omit<ChartFrame, 'width' | 'height'> {
  series: LineSeries[];
  windows?: ShadedWindow[];
  width?: number;
  height?: number;
  xDomain?: [number, number];
  /** Default: 0 .. nice max of the data. */
  yDomain?: [number, number];
  xFormat: (x: number) => string;
  yFormat: (y: number) => string;
  /** No axes labels or legend: a sparkline for the comparison cards. */
  compact?: boolean;
}

/** Points per series at most twice this (a chart is at most ~1,000 px wide). */
const MAX_BUCKETS = 1_000;
const WIDTH = 640;
const HEIGHT = 220;

export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? WIDTH;
  const height = o.height ?? HEIGHT;
  const m = o.compact ? { top: 4, right: 4, bottom: 4, left: 4 } : { top: 24, right: 16, bottom: 28, left: 52 };
  const series = o.series.map((s) => ({ ...s, points: minMaxDecimate(s.points, MAX_BUCKETS) }));
  const all = series.flatMap((s) => s.points);
  const xDomain: [number, number] = o.xDomain ?? [minOf(all.map((p) => p[0]), 0), maxOf(all.map((p) => p[0]), 1)];
  const yDomain: [number, number] = o.yDomain ?? [0, niceMax(maxOf(all.map((p) => p[1]), 0))];
  const x = linearScale(xDomain, [m.left, width - m.right]);
  const y = linearScale(yDomain, [height - m.bottom, m.top]);
  const parts: string[] = [];

  for (const w of o.windows ?? []) {
    const x0 = x(Math.max(w.from, x.domain[0]));
    const x1 = x(Math.min(w.to, x.domain[1]));
    if (!(x1 > x0)) continue;
    parts.push(
      `<g class="window"><rect x="${px(x0)}" y="${m.top}" width="${px(x1 - x0)}" height="${px(height - m.top - m.bottom)}" fill="#cf222e" fill-opacity="0.12">` +
        `<title>${escapeXml(w.label)}</title></rect>` +
        (o.compact ? '' : `<text x="${px(x0 + 3)}" y="${m.top + 11}" class="window-label">${escapeXml(w.label)}</text>`) +
        `</g>`,
    );
  }

  if (!o.compact) {
    const grid: string[] = [];
    for (const v of y.ticks(4)) {
      grid.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${px(y(v))}" y2="${px(y(v))}" class="grid"/>`);
      grid.push(`<text x="${m.left - 6}" y="${px(y(v) + 4)}" text-anchor="end" class="tick">${escapeXml(o.yFormat(v))}</text>`);
    }
    for (const v of x.ticks(6)) {
      grid.push(`<text x="${px(x(v))}" y="${height - m.bottom + 16}" text-anchor="middle" class="tick">${escapeXml(o.xFormat(v))}</text>`);
    }
    grid.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${height - m.bottom}" y2="${height - m.bottom}" class="axis"/>`);
    parts.unshift(`<g class="axes">${grid.join('')}</g>`);
  }

  if (o.compact) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${px(y(y.domain[1]))}" y2="${px(y(y.domain[1]))}" class="grid" stroke-dasharray="3 3"/>`);
  }

  if (all.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="empty">no data</text>`);
  }

  for (const s of series) {
    if (s.points.length === 0) continue;
    const line = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(x(p[0]))} ${px(y(p[1]))}`).join(' ');
    const first = s.points[0]!;
    const last = s.points[s.points.length - 1]!;
    const base = y(Math.max(y.domain[0], 0));
    if (s.area) {
      parts.push(`<path d="${line} L${px(x(last[0]))} ${px(base)} L${px(x(first[0]))} ${px(base)} Z" fill="${escapeXml(s.colour)}" fill-opacity="0.18" stroke="none" class="area"/>`);
    }
    parts.push(`<path d="${line}" fill="none" stroke="${escapeXml(s.colour)}" stroke-width="${o.compact ? 1.5 : 2}" stroke-linejoin="round" class="line"><title>${escapeXml(s.name)}</title></path>`);
  }

  if (!o.compact && o.series.length > 1) {
    const legend = o.series.map((s, i) => {
      const lx = m.left + i * 130;
      return `<g class="legend"><rect x="${lx}" y="6" width="10" height="10" fill="${escapeXml(s.colour)}"/><text x="${lx + 14}" y="15">${escapeXml(s.name)}</text></g>`;
    });
    parts.push(legend.join(''));
  }
  return chartFrame({ id: o.id, title: o.title, description: o.description, width, height, className: o.className }, parts.join(''));
}
