import { PollfleetError } from '../core/errors.js';
import type { Comparison, Result } from '../result/result.js';
import { renderHtml } from './render-html.js';
import { renderJunit } from './render-junit.js';
import { isComparison, renderMarkdown } from './render-markdown.js';
import { renderPrometheus } from './render-prometheus.js';

/**
 * The report formats by name: the file each is written to and the pure function that renders
 * it from one Result or Comparison. Writing the files is outputs/report-files.ts's job.
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

/** `--format md,html` -> checked format names (bad names are exit 2 before anything runs). Default: every report but the JSON. */
export function reportFormats(format: string | undefined): ReportFormat[] {
  if (!format) return REPORT_FORMATS.filter((f) => f !== 'json');
  return format.split(',').map((f) => f.trim()).filter(Boolean).map(resolveFormat).filter((f) => f !== 'json');
}

/** The file a format is written to for this input: a comparison's JSON is comparison.json. */
export function reportFileName(renderer: ReportRenderer, name: string, input: Result | Comparison): string {
  return name === 'json' && isComparison(input) ? 'comparison.json' : renderer.file;
}
