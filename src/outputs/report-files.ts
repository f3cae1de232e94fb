import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PollfleetError } from '../core/errors.js';
import { writeFileAtomic } from '../core/atomic-write.js';
import type { Comparison, Result } from '../result/result.js';
import { renderHtml } from '../report/render-html.js';
import { renderJunit } from '../report/render-junit.js';
import { renderMarkdown, isComparison } from '../report/render-markdown.js';
import { renderPrometheus } from '../report/render-prometheus.js';

/**
 * The report formats by name, and writing a chosen set of them into a folder. Each file is
 * written atomically (temp file in the same folder, then rename) so a reader -- a CI step,
 * node_exporter's textfile collector -- never sees half a report.
 */

export interface ReportRenderer {
  /** File written into the report folder. */
  file: string;
  render: (input: Result | Comparison) => string;
}

export const RENDERERS = {
  json: { file: 'result.json', render: (input) => `${JSON.stringify(input, null, 2)}\n` },
  markdown: { file: 'report.md', render: (input) => renderMarkdown(input) },
  html: { file: 'report.html', render: (input) => renderHtml(input) },
  junit: { file: 'junit.xml', render: (input) => renderJunit(input) },
  prometheus: { file: 'metrics.prom', render: (input) => renderPrometheus(input) },
} as const satisfies Record<string, ReportRenderer>;

export type ReportFormat = keyof typeof RENDERERS;

/** Other spellings users type for the same formats. */
const ALIASES: Record<string, ReportFormat> = { md: 'markdown', prom: 'prometheus', xml: 'junit' };

export const REPORT_FORMATS = Object.keys(RENDERERS) as ReportFormat[];

/** Resolve a format name (or alias); unknown names are bad input listing the valid ones. */
export function resolveFormat(name: string): ReportFormat {
  const key = name.trim().toLowerCase();
  if (key in RENDERERS) return key as ReportFormat;
  const alias = ALIASES[key];
  if (alias) return alias;
  throw new PollfleetError('input.invalid', `unknown report format '${name}': expected one of ${REPORT_FORMATS.join(', ')}`);
}

export interface WriteReportsOptions {
  /** Extra or replacement renderers by name (e.g. the console table). */
  renderers?: Record<string, ReportRenderer>;
}

/**
 * Render `formats` from one Result or Comparison and write them into `dir` (created if
 * missing). Returns the written paths in the order asked. A comparison's JSON is named
 * comparison.json.
 */
export async function writeReports(
  dir: string,
  input: Result | Comparison,
  formats: readonly string[],
  options: WriteReportsOptions = {},
): Promise<string[]> {
  const table: Record<string, ReportRenderer> = { ...RENDERERS, ...options.renderers };
  const chosen = [...new Set(formats.map((f) => (options.renderers?.[f] ? f : resolveFormat(f))))];
  // Render everything first: a renderer failing must not leave a partial set of files.
  const rendered = chosen.map((name) => {
    const r = table[name]!;
    const file = name === 'json' && isComparison(input) ? 'comparison.json' : r.file;
    return { path: join(dir, file), text: r.render(input) };
  });
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const { path, text } of rendered) {
    writeFileAtomic(path, text);
    written.push(path);
  }
  return written;
}
