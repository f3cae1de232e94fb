import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.js';
import { redact } from '../core/redact.js';
import type { Comparison, Result } from '../result/result.js';
import { RENDERERS, reportFileName, reportFormats, resolveFormat, type ReportRenderer } from '../report/renderers.js';

/**
 * Writing reports into a run folder. The renderers (report/renderers.ts) are pure; this
 * module is where their text leaves the process. Each file is written atomically (temp file
 * in the same folder, then rename) so a reader -- a CI step, node_exporter's textfile
 * collector -- never sees half a report.
 */

export interface WriteReportsOptions {
  /** Extra or replacement renderers by name (e.g. the console table). */
  renderers?: Record<string, ReportRenderer>;
}

/**
 * Render `formats` from one Result or Comparison and write them into `dir` (created if
 * missing). Returns the written paths in the order asked. A comparison's JSON is named
 * comparison.json. Rendered from the redacted input (core/redact.ts).
 */
export async function writeReports(
  dir: string,
  input: Result | Comparison,
  formats: readonly string[],
  options: WriteReportsOptions = {},
): Promise<string[]> {
  const table: Record<string, ReportRenderer> = { ...RENDERERS, ...options.renderers };
  const safe = redact(input);
  const chosen = [...new Set(formats.map((f) => (options.renderers?.[f] ? f : resolveFormat(f))))];
  // Render everything first: a renderer failing must not leave a partial set of files.
  const rendered = chosen.map((name) => {
    const r = table[name]!;
    return { path: join(dir, reportFileName(r, name, safe)), text: r.render(safe) };
  });
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const { path, text } of rendered) {
    writeFileAtomic(path, text);
    written.push(path);
  }
  return written;
}

/** The reports `--format` asks for (default: all but the JSON, which the caller writes itself, see result-file.ts). */
export function writeReportFiles(dir: string, input: Result | Comparison, format: string | undefined): Promise<string[]> {
  return writeReports(dir, input, reportFormats(format));
}
