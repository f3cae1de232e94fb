import type { Comparison, Result } from '../result/result.js';
import { REPORT_FORMATS, resolveFormat, writeReports } from '../outputs/report-files.js';

/** `--format md,html` -> checked format names (bad names are exit 2 before anything runs). Default: every report. */
export function reportFormats(format: string | undefined): string[] {
  if (!format) return REPORT_FORMATS.filter((f) => f !== 'json');
  return format.split(',').map((f) => f.trim()).filter(Boolean).map(resolveFormat).filter((f) => f !== 'json');
}

/** Reports next to result.json / comparison.json (which the caller writes itself). */
export function writeReportFiles(dir: string, input: Result | Comparison, format: string | undefined): Promise<string[]> {
  return writeReports(dir, input, reportFormats(format));
}
