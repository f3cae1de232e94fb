import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EXIT_OK, PollfleetError } from '../../core/errors.js';
import { renderConsoleComparison, renderConsoleResult } from '../../report/render-console.js';
import { COMPARISON_SCHEMA, RESULT_SCHEMA, type Comparison, type Result } from '../../result/result.js';
import type { CliContext } from '../context.js';
import { writeReportFiles } from '../../outputs/report-files.js';

/** `pollfleet report result.json|comparison.json`: re-render an old run from its JSON alone. */
export async function reportCommand(ctx: CliContext, file: string, f: { format?: string; out?: string; quiet?: boolean }): Promise<number> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PollfleetError('input.invalid', code === 'ENOENT' ? `${file}: file not found` : `${file}: not a readable JSON file (${(e as Error).message})`);
  }
  const schema = (doc as { schema?: unknown } | null)?.schema;
  if (schema !== RESULT_SCHEMA && schema !== COMPARISON_SCHEMA) {
    throw new PollfleetError('input.invalid', `${file}: schema: expected "${RESULT_SCHEMA}" or "${COMPARISON_SCHEMA}", got ${JSON.stringify(schema)}`);
  }
  const dir = f.out ?? dirname(file);
  const written = await writeReportFiles(dir, doc as Result | Comparison, f.format);
  if (!f.quiet) {
    ctx.stdout.write(schema === RESULT_SCHEMA ? renderConsoleResult(doc as Result, { color: ctx.color }) : renderConsoleComparison(doc as Comparison, { color: ctx.color, width: ctx.stdout.columns }));
    ctx.stdout.write(`wrote ${written.join(', ')}\n`);
  }
  return EXIT_OK;
}
