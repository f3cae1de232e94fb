import { dirname } from 'node:path';
import { EXIT_OK } from '../../core/errors.js';
import { redact } from '../../core/redact.js';
import { renderConsoleComparison, renderConsoleResult } from '../../report/render-console.js';
import { isComparison, readResultFile } from '../../result/read-result-file.js';
import type { CliContext } from '../context.js';
import { writeReportFiles } from '../../outputs/report-files.js';
import { outputFolder } from '../run-folder.js';

/** `pollfleet report result.json|comparison.json`: re-render an old run from its JSON alone (validated on read). */
export async function reportCommand(ctx: CliContext, file: string, f: { format?: string; out?: string; quiet?: boolean }): Promise<number> {
  // A result.json is a file anyone may hand over: what it prints passes the redaction step like everything else.
  const doc = redact(readResultFile(file));
  const dir = f.out === undefined ? dirname(file) : outputFolder(f.out);
  const written = await writeReportFiles(dir, doc, f.format);
  if (!f.quiet) {
    ctx.stdout.write(isComparison(doc) ? renderConsoleComparison(doc, { color: ctx.color, width: ctx.stdout.columns }) : renderConsoleResult(doc, { color: ctx.color }));
    ctx.stdout.write(`wrote ${written.join(', ')}\n`);
  }
  return EXIT_OK;
}
