import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.js';
import { redact } from '../core/redact.js';
import type { Comparison, Result } from '../result/result.js';
import { RENDERERS, reportFileName } from '../report/renderers.js';

/**
 * The run's own document: result.json (one run) or comparison.json (several), written
 * atomically into the run folder. `pollfleet report` re-renders every other report from it.
 * A comparison is rewritten after each variant, so an interrupted comparison keeps the runs
 * that finished. Returns the path written. Secrets are redacted (core/redact.ts).
 */
export function writeResultFile(dir: string, input: Result | Comparison): string {
  const path = join(dir, reportFileName(RENDERERS.json, 'json', input));
  writeFileAtomic(path, RENDERERS.json.render(redact(input)));
  return path;
}
