import type { Quantiles } from '../../result/result.js';
import { chartFrame, type ChartFrame } from './chart-frame.js';
import { escapeXml } from './escape.js';
import { linearScale, logScale, niceMax, px, type Scale } from './scale.js';
import { maxOf, minOf } from '../../core/numbers.js';

/**
 * One horizontal bar per row drawn from a distribution's quantiles: a whisker from min to
 * max, a box from p50 to p90, a tick at p50 and a marker at p99. Switches to a log axis
 * when values span more than two orders of magnitude (pickup of a few ms next to seconds).
 */

export interface RangeRow {
  label: string;
  q: Quantiles | null;
}

export interface RangeChartOptions extends Omit<ChartFrame, 'width' | 'height'> {
  rows: RangeRow[];
  format: (v: number) => string;
  width?: number;
  colour?: string;
}

const ROW_H = 26;
const LOG_SPAN = 100;

export function rangeChart(o: RangeChartOptions): string {
  const width = o.width ?? 640;
  const m = { top: 8, right: 24, bottom: 40, left: 110 };
  const height = m.top + m.bottom + Math.max(1, o.rows.length) * ROW_H;
  const colour = o.colour ?? '#0969da';
  const values = o.rows.flatMap((r) => (r.q ? [r.q.min, r.q.p50, r.q.p90, r.q.p99, r.q.max] : [])).filter((v): v is number => v !== null);
  const positive = values.filter((v) => v > 0);
  const lo = minOf(positive, 1);
  const hi = maxOf(values, 1);
  const useLog = positive.length > 0 && hi / lo > LOG_SPAN;
  const x: Scale = useLog
    ? logScale([10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi))], [m.left, width - m.right])
    : linearScale([0, niceMax(hi)], [m.left, width - m.right]);
  const parts: string[] = [];
  for (const v of x.ticks(5)) {
    parts.push(`<line x1="${px(x(v))}" x2="${px(x(v))}" y1="${m.top}" y2="${height - m.bottom}" class="grid"/>`);
    parts.push(`<text x="${px(x(v))}" y="${height - m.bottom + 16}" text-anchor="middle" class="tick">${escapeXml(o.format(v))}</text>`);
  }
  o.rows.forEach((row, i) => {
    const cy = m.top + i * ROW_H + ROW_H / 2;
    parts.push(`<text x="${m.left - 8}" y="${px(cy + 4)}" text-anchor="end" class="label">${escapeXml(row.label)}</text>`);
    const q = row.q;
    if (!q || q.p50 === null || q.count === 0) {
      parts.push(`<text x="${m.left + 4}" y="${px(cy + 4)}" class="empty">not measured</text>`);
      return;
    }
    const v = (n: number | null, fallback: number) => x(n ?? fallback);
    const minX = v(q.min, q.p50);
    const maxX = v(q.max, q.p50);
    const p50 = x(q.p50);
    const p90 = v(q.p90, q.p50);
    const tip = `${row.label}: p50 ${fmt(o, q.p50)}, p90 ${fmt(o, q.p90)}, p99 ${fmt(o, q.p99)}, max ${fmt(o, q.max)} (${q.count} samples)`;
    parts.push(
      `<g class="range"><title>${escapeXml(tip)}</title>` +
        `<line x1="${px(minX)}" x2="${px(maxX)}" y1="${px(cy)}" y2="${px(cy)}" stroke="${escapeXml(colour)}" stroke-width="1.5"/>` +
        `<rect x="${px(p50)}" y="${px(cy - 7)}" width="${px(Math.max(2, p90 - p50))}" height="14" fill="${escapeXml(colour)}" fill-opacity="0.35" stroke="${escapeXml(colour)}"/>` +
        `<line x1="${px(p50)}" x2="${px(p50)}" y1="${px(cy - 8)}" y2="${px(cy + 8)}" stroke="${escapeXml(colour)}" stroke-width="3"/>` +
        (q.p99 === null ? '' : `<path d="M${px(x(q.p99))} ${px(cy - 6)} l5 6 l-5 6 l-5 -6 Z" fill="#bf8700"/>`) +
        `</g>`,
    );
  });
  parts.push(
    `<text x="${width - m.right}" y="${height - 4}" text-anchor="end" class="note">${useLog ? 'log scale; ' : ''}box p50–p90, ◆ p99, whisker min–max</text>`,
  );
  return chartFrame({ id: o.id, title: o.title, description: o.description, width, height, className: o.className }, parts.join(''));
}

function fmt(o: RangeChartOptions, v: number | null): string {
  return v === null ? 'n/a' : o.format(v);
}
