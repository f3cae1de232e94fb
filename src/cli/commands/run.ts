import { join } from 'node:path';
import { EXIT_CHECK_FAILED, EXIT_OK, PollfleetError } from '../../core/errors.js';
import { renderConsoleComparison, renderConsoleResult } from '../../report/render-console.js';
import { COMPARISON_SCHEMA, COMPARISON_SCHEMA_VERSION, type Comparison, type ComparisonRun, type Result } from '../../result/result.js';
import { loadScenarioFile, scenarioFromObject, type RawOverrides } from '../../scenario/loader.js';
import { FOREIGN_SUBSCRIPTION_REFUSAL, type Scenario } from '../../scenario/resolve.js';
import { runScenario } from '../../run/run-scenario.js';
import { renderPlan } from '../../report/render-plan.js';
import { planScenario } from '../../plan/plan.js';
import { parseShard, shardScenario } from '../../plan/shard.js';
import { PLAN_SOURCES } from '../../environment/plan-sources.js';
import { routeFor } from '../../environment/routes/route-registry.js';
import { proxySecrets } from '../../environment/routes/proxy.js';
import { Ledger } from '../../environment/external/ledger.js';
import { validateThresholds } from '../../verdict/threshold-parser.js';
import type { CliContext } from '../context.js';
import { interruptSignal } from '../interrupt.js';
import { internalErrors, onInternalError } from '../process-policy.js';
import { progressPrinter } from '../progress.js';
import { discardIfEmpty, runFolder } from '../run-folder.js';
import { reportFormats } from '../../report/renderers.js';
import { writeReportFiles } from '../../outputs/report-files.js';
import { judgeRun, noteHistoryWithoutStore } from '../judge-run.js';
import { NO_RUN_OUTPUTS, openRunOutputs, publishRun, type RunOutputs } from '../../outputs/run-outputs.js';
import { writeResultFile } from '../../outputs/result-file.js';
import { redact, redactText } from '../../core/redact.js';
import { comparisonPasses } from '../../verdict/comparison-verdict.js';
import { checkRunHistoryThresholds } from '../../verdict/history-thresholds.js';

export interface RunFlags {
  out?: string;
  duration?: string;
  tentacles?: string;
  /** fleet.workers: `auto` or a number of worker threads. */
  workers?: string;
  nodes?: string;
  route?: string;
  queue?: string;
  threshold?: string[];
  node?: string[];
  thumbprint?: string;
  cert?: string;
  key?: string;
  pfx?: string;
  subscriptionId?: string;
  format?: string;
  quiet?: boolean;
  json?: boolean;
  /** History store file: history thresholds read it, the run is appended to it. */
  history?: string;
  /** Pushgateway base URL for metrics.prom. */
  pushgateway?: string;
  /** Print what would be opened and registered, then stop. */
  plan?: boolean;
  /** Lift the safety limits for real clusters. */
  iUnderstandLoad?: boolean;
  /** `i/n`: run the i-th of n slices of the fleet (src/plan/shard.ts). */
  shard?: string;
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new PollfleetError('input.invalid', `--${name}: expected a whole number, got ${JSON.stringify(v)}`);
  return n;
}

/** Command-line overrides, laid over the scenario file before validation. */
export function overridesFromFlags(f: RunFlags): RawOverrides {
  const o: RawOverrides = {};
  if (f.duration !== undefined) o['duration'] = f.duration;
  const tentacles = intFlag('tentacles', f.tentacles);
  if (tentacles !== undefined) o['fleet'] = { tentacles };
  if (f.workers !== undefined) o['fleet'] = { ...(o['fleet'] as object), workers: f.workers === 'auto' ? 'auto' : intFlag('workers', f.workers) };
  const nodes = intFlag('nodes', f.nodes);
  if (nodes !== undefined || f.queue) o['cluster'] = { ...(nodes !== undefined ? { nodes } : {}), ...(f.queue ? { queue: f.queue } : {}) };
  if (f.route) o['route'] = { kind: f.route };
  return o;
}

/** `pollfleet run --node host:port ... --thumbprint ... --cert ... --key ...` without a file. */
export function scenarioFromFlags(f: RunFlags): Scenario {
  refuseSubscriptionFlag(f);
  const raw: Record<string, unknown> = {
    name: 'external',
    target: 'external',
    external: {
      nodes: (f.node ?? []).map((polling) => ({ polling })),
      ...(f.thumbprint ? { thumbprint: f.thumbprint } : {}),
      identity: f.pfx ? { pfx: f.pfx } : { cert: f.cert, key: f.key },
    },
    ...overridesFromFlags(f),
  };
  return scenarioFromObject(raw, 'command line');
}

/** `--subscription-id` stays a flag only so that its refusal can say why. */
function refuseSubscriptionFlag(f: RunFlags): void {
  if (f.subscriptionId !== undefined) throw new PollfleetError('scenario.invalid', `--subscription-id: ${FOREIGN_SUBSCRIPTION_REFUSAL}`);
}

function checkThresholdFlags(list: string[]): void {
  const problems = validateThresholds(list);
  if (problems.length) throw new PollfleetError('scenario.invalid', problems.map((p) => `--threshold ${p.replace(/^thresholds\[\d+\]: /, '')}`).join('\n'));
}

export async function runCommand(ctx: CliContext, file: string | undefined, f: RunFlags): Promise<number> {
  refuseSubscriptionFlag(f);
  const extra = f.threshold ?? [];
  checkThresholdFlags(extra);
  reportFormats(f.format);
  let scenarios: Scenario[];
  let comparison: { name: string } | null = null;
  if (!file) {
    if (!f.node?.length) throw new PollfleetError('input.invalid', 'give a scenario file, or --node host:port (with --thumbprint and --cert/--key) for a quick external run', { hint: 'pollfleet run scenarios/direct.yaml' });
    scenarios = [scenarioFromFlags(f)];
  } else {
    const loaded = loadScenarioFile(file, overridesFromFlags(f));
    if (loaded.kind === 'comparison') {
      scenarios = loaded.variants;
      comparison = { name: loaded.name };
    } else scenarios = [loaded.scenario];
  }
  if (f.shard !== undefined) {
    const shard = parseShard(f.shard);
    scenarios = scenarios.map((s) => shardScenario(s, shard, file ?? 'command line'));
  }
  for (const s of scenarios) checkRunHistoryThresholds(s.thresholds, extra, file ?? 'command line');
  if (f.history === undefined && !f.quiet && !f.json) noteHistoryWithoutStore(ctx.stderr, scenarios, extra);
  if (f.iUnderstandLoad) for (const s of scenarios) if (s.external) s.external.allowLoad = true;
  if (f.plan) {
    for (const s of scenarios) ctx.stdout.write(renderPlan(planScenario(s, PLAN_SOURCES), { entries: s.external?.register ? new Ledger(s.external.register.ledgerFile).entries().length : 0 }));
    return EXIT_OK;
  }
  const outputs = openRunOutputs(f);
  try {
    if (comparison) return await compareScenarios(ctx, comparison.name, scenarios, f, extra, outputs);
    const s = scenarios[0]!;
    const dir = runFolder(s.name, f.out);
    const result = await runOne(ctx, s, dir, f, extra, '', outputs);
    if (f.json) ctx.stdout.write(JSON.stringify(jsonSummary(result, dir)) + '\n');
    else if (!f.quiet) ctx.stdout.write(renderConsoleResult(result, { color: ctx.color }) + `reports: ${dir}\n`);
    return result.verdict.pass ? EXIT_OK : EXIT_CHECK_FAILED;
  } finally {
    outputs.close();
  }
}

/** The machine-readable summary `--json` prints: the verdict, why, where the files are, the figures. */
export function jsonSummary(result: Result, dir: string) {
  return {
    name: result.name,
    route: result.route,
    pass: result.verdict.pass,
    interrupted: result.interrupted,
    reasons: result.verdict.reasons,
    thresholds: result.thresholds,
    resultPath: join(dir, 'result.json'),
    reportsDir: dir,
    summary: result.summary,
  };
}

export async function runOne(ctx: CliContext, s: Scenario, dir: string, f: RunFlags, extra: string[], label: string, outputs: RunOutputs = NO_RUN_OUTPUTS): Promise<Result> {
  const progress = progressPrinter(ctx.stderr, f.quiet || f.json ? 'off' : ctx.isTTY ? 'tty' : 'lines', label);
  const interrupt = interruptSignal((sig) => {
    progress.done();
    ctx.stderr.write(`\n${sig}: stopping the run and writing a partial report (press Ctrl-C again to quit at once)\n`);
  });
  // An internal error (process-policy.ts) stops the run like Ctrl-C: the partial Result names it.
  const internal = new AbortController();
  // Literal secrets this run knows (route kind proxy: the proxy passwords read from passwordEnv).
  const secrets = proxySecrets(s);
  const offInternal = onInternalError(() => {
    progress.done();
    internal.abort();
  });
  try {
    const measured = await runScenario(s, {
      workDir: dir,
      toolVersion: ctx.version,
      signal: AbortSignal.any([interrupt.signal, internal.signal]),
      progress: (p) => progress.update(p),
      log: f.quiet || f.json ? undefined : (line) => {
        progress.done();
        ctx.stderr.write(redactText(`${label}${line}\n`, secrets));
      },
    });
    progress.done();
    const judged = judgeRun(measured, s, extra, outputs.history);
    const errors = internalErrors();
    const result = redact(errors.length ? { ...judged, interrupted: true, internalErrors: [...errors], diagnosis: [...errors.map((m) => `internal error (a bug in pollfleet) stopped the run: ${m}`), ...judged.diagnosis] } : judged, secrets);
    await publishRun(outputs, dir, result, f.format, ctx.stderr);
    return result;
  } catch (e) {
    discardIfEmpty(dir);
    throw e;
  } finally {
    interrupt.dispose();
    offInternal();
  }
}

export async function compareScenarios(ctx: CliContext, name: string, scenarios: Scenario[], f: RunFlags, extra: string[], outputs: RunOutputs = NO_RUN_OUTPUTS): Promise<number> {
  const dir = runFolder(name, f.out);
  const startedAt = new Date().toISOString();
  const runs: ComparisonRun[] = [];
  const write = () => {
    const c: Comparison = { schema: COMPARISON_SCHEMA, schemaVersion: COMPARISON_SCHEMA_VERSION, name, startedAt, finishedAt: new Date().toISOString(), runs };
    writeResultFile(dir, c);
    return c;
  };
  for (const [i, s] of scenarios.entries()) {
    if (!f.quiet && !f.json) ctx.stderr.write(`\n[${i + 1}/${scenarios.length}] ${s.name}: route ${s.route.kind}${routeFor(s.route.kind).balanced ? ` via ${s.route.balancer}` : ''}, queue ${s.cluster.queue}\n`);
    const result = await runOne(ctx, s, join(dir, s.name), f, extra, `[${s.name}] `, outputs).catch((e: unknown) => {
      discardIfEmpty(dir);
      throw e;
    });
    runs.push({
      name: s.name,
      route: s.route.kind,
      queue: s.cluster.queue,
      balancer: result.balancer,
      pass: result.verdict.pass,
      expectedPass: s.expect === null ? null : s.expect === 'pass',
      diagnosis: result.diagnosis,
      result,
    });
    write();
    if (result.interrupted) break;
  }
  const c = write();
  await writeReportFiles(dir, c, f.format);
  if (f.json) ctx.stdout.write(JSON.stringify({ comparisonPath: join(dir, 'comparison.json'), runs: runs.map((r) => ({ name: r.name, pass: r.pass, expectedPass: r.expectedPass, diagnosis: r.diagnosis })) }) + '\n');
  else if (!f.quiet) ctx.stdout.write('\n' + renderConsoleComparison(c, { color: ctx.color, width: ctx.stdout.columns }) + `reports: ${dir}\n`);
  // A comparison passes when every route behaved as its scenario said it would.
  return comparisonPasses(runs, scenarios.length) ? EXIT_OK : EXIT_CHECK_FAILED;
}
