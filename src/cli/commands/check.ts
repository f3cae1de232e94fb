import { isAbsolute, relative } from 'node:path';
import { EXIT_CHECK_FAILED, EXIT_OK, PollfleetError } from '../../core/errors.js';
import { renderCheckLine } from '../../report/render-check-line.js';
import type { Result } from '../../result/result.js';
import { checkRunHistoryThresholds } from '../../verdict/history-thresholds.js';
import { checkExtraThresholds } from '../../verdict/judge.js';
import { CHECK_DEFAULTS } from '../../scenario/defaults.js';
import { loadScenarioFile } from '../../scenario/loader.js';
import type { CliContext } from '../context.js';
import { runFolder } from '../run-folder.js';
import { openRunOutputs } from '../../outputs/run-outputs.js';
import { reportFormats } from '../../report/renderers.js';
import { jsonSummary, overridesFromFlags, runOne, type RunFlags } from './run.js';

/**
 * `pollfleet check <scenario>`: one short run for cron, CI or a Kubernetes CronJob. Silent
 * while it runs (unless --progress), one summary line on stdout, result.json, the reports and
 * metrics.prom in the run folder, the run appended to the history store, optionally pushed
 * to a Pushgateway. Exit code 0 pass, 1 fail, 2 bad input -- as for `run`.
 */

export interface CheckFlags extends Omit<RunFlags, 'node' | 'thumbprint' | 'cert' | 'key' | 'pfx' | 'subscriptionId'> {
  /** Show progress and run log on stderr (off by default: cron mails every byte). */
  progress?: boolean;
}

export async function checkCommand(ctx: CliContext, file: string, f: CheckFlags): Promise<number> {
  const extra = f.threshold ?? [];
  const loaded = loadScenarioFile(file, overridesFromFlags(f));
  if (loaded.kind === 'comparison') {
    throw new PollfleetError('input.invalid', `${file}: a comparison file lists several variants; check runs one scenario`, {
      hint: `run the comparison with: pollfleet compare ${file}`,
    });
  }
  const s = loaded.scenario;
  checkRunHistoryThresholds(s.thresholds, extra, file);
  const thresholds = checkExtraThresholds(s, extra);
  // metrics.prom is what an alert reads: always written, whatever --format says.
  const formats = reportFormats(f.format);
  if (!formats.includes('prometheus')) formats.push('prometheus');
  const outputs = openRunOutputs({ history: f.history ?? CHECK_DEFAULTS.historyFile, ...(f.pushgateway !== undefined ? { pushgateway: f.pushgateway } : {}) });
  try {
    const dir = runFolder(s.name, f.out);
    const runFlags: RunFlags = { ...f, format: formats.join(','), quiet: !f.progress, json: false };
    const result = await runOne(ctx, s, dir, runFlags, thresholds, '', outputs);
    if (f.json) {
      ctx.stdout.write(JSON.stringify({ ...jsonSummary(result, dir), history: outputs.history?.file ?? null }) + '\n');
    } else if (!f.quiet) {
      ctx.stdout.write(checkSummaryLine(result, dir) + '\n');
    }
    return result.verdict.pass ? EXIT_OK : EXIT_CHECK_FAILED;
  } finally {
    outputs.close();
  }
}

/** The one summary line of a check, its folder shown relative to the working directory when under it. */
export function checkSummaryLine(result: Result, dir: string): string {
  return renderCheckLine(result, shownPath(dir));
}

/** A folder under the working directory is shown relative to it (shorter in cron mail). */
function shownPath(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : dir;
}
