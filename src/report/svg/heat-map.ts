import { chartFrame, type ChartFrame } from './chart-frame.js';
import { escapeXml } from './escape.js';
import { px } from './scale.js';

/**
 * A rows x columns grid of shares 0..1, red (0) through amber to green (1): the
 * tentacle x node matrix. Rows are already aggregated into buckets for large fleets.
 */

export interface HeatMapOptions extends Omit<ChartFrame, 'width' | 'height'> {
  columns: string[];
  rows: string[];
  /** values[row][column] in 0..1. */
  values: number[][];
  /** Tooltip for one cell. */
  cellTitle: (row: number, column: number, value: number) => string;
  width?: number;
}

const MAX_HEIGHT = 520;
const LABEL_EVERY_MIN_PX = 12;

export function heatMap(o: HeatMapOptions): string {
  const width = o.width ?? 640;
  const m = { top: 22, right: 16, bottom: 8, left: 110 };
  const cellW = (width - m.left - m.right) / Math.max(1, o.columns.length);
  const cellH = Math.max(2, Math.min(22, (MAX_HEIGHT - m.top - m.bottom) / Math.max(1, o.rows.length)));
  const height = Math.ceil(m.top + m.bottom + cellH * Math.max(1, o.rows.length));
  const labelEvery = Math.max(1, Math.ceil(LABEL_EVERY_MIN_PX / cellH));
  const parts: string[] = [];
  o.columns.forEach((c, j) => {
    parts.push(`<text x="${px(m.left + cellW * (j + 0.5))}" y="${m.top - 7}" text-anchor="middle" class="label">${escapeXml(c)}</text>`);
  });
  o.rows.forEach((r, i) => {
    const y = m.top + i * cellH;
    if (i % labelEvery === 0) parts.push(`<text x="${m.left - 8}" y="${px(y + Math.min(cellH, 14) / 2 + 4)}" text-anchor="end" class="tick">${escapeXml(r)}</text>`);
    o.columns.forEach((_, j) => {
      const v = o.values[i]?.[j] ?? 0;
      parts.push(
        `<rect x="${px(m.left + j * cellW)}" y="${px(y)}" width="${px(Math.max(1, cellW - 1))}" height="${px(Math.max(1, cellH - (cellH > 4 ? 1 : 0)))}" fill="${shareColour(v)}" class="cell">` +
          `<title>${escapeXml(o.cellTitle(i, j, v))}</title></rect>`,
      );
    });
  });
  if (o.rows.length === 0) parts.push(`<text x="${width / 2}" y="${m.top + 12}" text-anchor="middle" class="empty">no tentacles</text>`);
  return chartFrame({ id: o.id, title: o.title, description: o.description, width, height, className: o.className }, parts.join(''));
}

/** 0 -> red, 0.5 -> amber, 1 -> green (hex, so it works without CSS). */
export function shareColour(share: number): string {
  const s = Math.min(1, Math.max(0, Number.isFinite(share) ? share : 0));
  const stops: Array<[number, [number, number, number]]> = [
    [0, [207, 34, 46]],
    [0.5, [212, 167, 44]],
    [1, [26, 127, 55]],
  ];
  const [a, b] = s <= 0.5 ? [stops[0]!, stops[1]!] : [stops[1]!, stops[2]!];
  const f = (s - a[0]) / (b[0] - a[0]);
  const rgb = a[1].map((c, k) => Math.round(c + (b[1][k]! - c) * f));
  return `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}
