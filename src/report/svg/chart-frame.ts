import { escapeXml } from './escape.js';

/**
 * The accessible outer frame every chart shares: an <svg role="img"> labelled by its
 * <title> and <desc>, sized by viewBox so it scales with the page.
 */
export interface ChartFrame {
  /** Unique within the page (used for the title/desc ids). */
  id: string;
  title: string;
  /** A sentence saying what the chart shows, for screen readers and as a fallback. */
  description: string;
  width: number;
  height: number;
  className?: string;
}

export function chartFrame(frame: ChartFrame, body: string): string {
  const t = `${frame.id}-title`;
  const d = `${frame.id}-desc`;
  return (
    `<svg id="${escapeXml(frame.id)}" class="${escapeXml(frame.className ?? 'chart')}" viewBox="0 0 ${frame.width} ${frame.height}" ` +
    `width="${frame.width}" height="${frame.height}" role="img" aria-labelledby="${escapeXml(t)} ${escapeXml(d)}">` +
    `<title id="${escapeXml(t)}">${escapeXml(frame.title)}</title><desc id="${escapeXml(d)}">${escapeXml(frame.description)}</desc>` +
    body +
    `</svg>`
  );
}
