import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT_CHECK_FAILED, EXIT_OK, PollfleetError } from '../../core/errors.js';
import { redact } from '../../core/redact.js';
import { publishRun, NO_RUN_OUTPUTS } from '../../outputs/run-outputs.js';
import { renderConsoleResult } from '../../report/render-console.js';
import { reportFormats } from '../../report/renderers.js';
import { mergeResults } from '../../result/merge.js';
import { isComparison, readResultFile } from '../../result/read-result-file.js';
import type { Result } from '../../result/result.js';
import { ROUTE_KINDS } from '../../scenario/schema.js';
import type { Scenario } from '../../scenario/resolve.js';
import { validateThresholds } from '../../verdict/threshold-parser.js';
import type { CliContext } from '../context.js';
import { judgeRun } from '../judge-run.js';
import { runFolder } from '../run-folder.js';

export interface MergeFlags {
  out?: string;
  threshold?: string[];
  format?: string;
  quiet?: boolean;
  json?: boolean;
}

/**
 * The result.json files named on the command line: a file as given; a folder holding a
 * result.json, that one; any other folder, the result.json of each folder directly inside it
 * (the shards' run folders side by side, e.g. one shared volume).
 */
export function findShardResults(inputs: readonly string[], exclude: string | null = null): string[] {
  const files: string[] = [];
  // The merged run's own folder (--out) may sit beside the shards' from an earlier merge.
  const skip = exclude ? resolve(exclude) : null;
  for (const input of inputs) {
    if (!existsSync(input)) throw new PollfleetError('input.invalid', `${input}: no such file or folder`);
    if (!statSync(input).isDirectory()) {
      files.push(input);
      continue;
    }
    if (existsSync(join(input, 'result.json'))) {
      files.push(join(input, 'result.json'));
      continue;
    }
    const inside = readdirSync(input)
      .sort()
      .filter((name) => resolve(input, name) !== skip)
      .map((name) => join(input, name, 'result.json'))
      .filter((f) => existsSync(f));
    if (inside.length === 0) throw new PollfleetError('input.invalid', `${input}: no result.json in it or in the folders directly inside it`);
    files.push(...inside);
  }
  return files;
}

/**
 * The scenario a merged Result is judged by: the one the shards recorded (resolved, secrets
 * removed), with the whole fleet's size. Only the fields the judge reads are checked.
 */
function recordedScenario(r: Result, file: string): Scenario {
  const s = r.scenario as Partial<Scenario> | null;
  const bad = (field: string, expected: string) => new PollfleetError('input.invalid', `${file}: scenario.${field}: expected ${expected} (the scenario the shard recorded)`);
  if (typeof s !== 'object' || s === null) throw bad('', 'an object');
  if (!Array.isArray(s.thresholds) || s.thresholds.some((t) => typeof t !== 'string')) throw bad('thresholds', 'a list of strings');
  if (s.target !== 'external' && s.target !== 'embedded') throw bad('target', '"external" or "embedded"');
  if (typeof s.cluster !== 'object' || s.cluster === null || typeof s.cluster.queue !== 'string') throw bad('cluster.queue', 'a queue kind');
  if (typeof s.route !== 'object' || s.route === null || !(ROUTE_KINDS as readonly string[]).includes(s.route.kind)) throw bad('route.kind', `one of ${ROUTE_KINDS.join(', ')}`);
  if (typeof s.fleet !== 'object' || s.fleet === null) throw bad('fleet', 'an object');
  return { ...(s as Scenario), fleet: { ...s.fleet, tentacles: r.shard?.totalTentacles ?? s.fleet.tentacles }, shard: null };
}

/**
 * `pollfleet merge <results or folders> --out DIR`: the shards of one run (`run --shard i/n`)
 * merged exactly (src/result/merge.ts), judged ONCE against the scenario's thresholds (and
 * --threshold), every report rendered. The exit code is the merged verdict's: the merged run
 * fails when the whole fleet misses a threshold, even if no shard did on its own.
 */
export async function mergeCommand(ctx: CliContext, inputs: string[], f: MergeFlags): Promise<number> {
  const extra = f.threshold ?? [];
  const problems = validateThresholds(extra);
  if (problems.length) throw new PollfleetError('input.invalid', problems.map((p) => `--threshold ${p.replace(/^thresholds\[\d+\]: /, '')}`).join('\n'));
  reportFormats(f.format);
  const files = findShardResults(inputs, f.out ?? null);
  const docs = files.map((file) => {
    const doc = redact(readResultFile(file));
    if (isComparison(doc)) throw new PollfleetError('input.invalid', `${file}: a comparison; merge takes the result.json of each shard of one run`);
    return doc;
  });
  const merged = mergeResults(docs);
  const firstFile = files[docs.indexOf(docs.find((d) => (d.shard?.index ?? 1) === 1) ?? docs[0]!)]!;
  const scenario = recordedScenario(docs.find((d) => (d.shard?.index ?? 1) === 1) ?? docs[0]!, firstFile);
  const measured = { ...merged, scenario: redact(scenario) };
  const result = judgeRun(measured, scenario, extra, null);
  const dir = runFolder(`${result.name}-merged`, f.out);
  await publishRun(NO_RUN_OUTPUTS, dir, result, f.format, ctx.stderr);
  if (f.json) {
    ctx.stdout.write(JSON.stringify({ name: result.name, shards: files.length, pass: result.verdict.pass, reasons: result.verdict.reasons, thresholds: result.thresholds, resultPath: join(dir, 'result.json'), reportsDir: dir, summary: result.summary }) + '\n');
  } else if (!f.quiet) {
    ctx.stdout.write(`merged ${files.length} Result${files.length === 1 ? '' : 's'}: ${result.summary.tentacles} tentacles x ${result.summary.nodes} nodes\n`);
    ctx.stdout.write(renderConsoleResult(result, { color: ctx.color }) + `reports: ${dir}\n`);
  }
  return result.verdict.pass ? EXIT_OK : EXIT_CHECK_FAILED;
}
