import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { checkCommand, type CheckFlags } from '../../../src/cli/commands/check.js';
import type { CliContext } from '../../../src/cli/context.js';
import { PollfleetError, exitCodeFor } from '../../../src/core/errors.js';
import { HistoryStore } from '../../../src/outputs/history-store.js';
import { spawnCli } from '../../helpers/run.js';
import { TINY_SCENARIO, closedUrl, recordingGateway } from '../../helpers/scheduled-check.js';

// `pollfleet check` through the real CLI process: a tiny embedded cluster, one summary line,
// reports + metrics.prom, the history store, the Pushgateway, exit codes.
const RUN_MS = 45_000;
const QUICK_MS = 20_000;
/**
 * check judges the fleet's own event-loop lag by default (p99 < 50 ms); tap runs two test
 * files at once on a 2-core CI machine, so the runs that must pass widen that one limit.
 */
const LOADED_MACHINE = ['--threshold', 'harness.loopDelayMs.p99 < 60000'];

t.test('check twice: one line each, reports written, history in order, metrics pushed', async (t) => {
  const dir = t.testdir({ 'tiny.yaml': TINY_SCENARIO });
  const history = join(dir, 'h.sqlite');
  const gw = await recordingGateway(t);

  const first = spawnCli(['check', join(dir, 'tiny.yaml'), '--out', join(dir, 'r1'), '--history', history, ...LOADED_MACHINE]);
  const one = await first.exited(RUN_MS);
  t.equal(one.code, 0, `exit 0 (stderr: ${first.stderr()})`);
  const lines = first.stdout().split('\n').filter(Boolean);
  t.equal(lines.length, 1, 'exactly one line on stdout');
  t.match(lines[0], /^pollfleet check tiny: PASS coverage 100 % pickup p99 [\d.]+ (ms|s) expired 0 lost 0 \(.*r1\)$/);
  t.equal(first.stderr(), '', 'no progress or log without --progress');
  for (const f of ['result.json', 'metrics.prom', 'report.html', 'report.md', 'junit.xml']) t.ok(existsSync(join(dir, 'r1', f)), `${f} written`);
  t.match(readFileSync(join(dir, 'r1', 'metrics.prom'), 'utf8'), /pollfleet_check_success\{[^}]*\} 1/);

  // The second run compares with the first (history threshold) and pushes its metrics.
  const second = spawnCli([
    'check', join(dir, 'tiny.yaml'), '--out', join(dir, 'r2'), '--history', history,
    '--pushgateway', gw.url, '--json', '--threshold', 'pickupMs.p99 < 1000 x median(last 5)', '--format', 'md', ...LOADED_MACHINE,
  ]);
  const two = await second.exited(RUN_MS);
  t.equal(two.code, 0, `exit 0 (stderr: ${second.stderr()})`);
  const json = JSON.parse(second.stdout()) as { pass: boolean; name: string; history: string; reportsDir: string; thresholds: Array<{ expression: string; expected: string; pass: boolean }> };
  t.equal(json.pass, true);
  t.equal(json.name, 'tiny');
  t.equal(json.history, history);
  const viaHistory = json.thresholds.find((x) => x.expression.includes('median'));
  t.match(viaHistory, { pass: true, expected: /median\(last 5\) of 1 previous/ }, 'history threshold read the first run');
  t.ok(existsSync(join(dir, 'r2', 'metrics.prom')), 'metrics.prom written even when --format leaves it out');
  t.notOk(existsSync(join(dir, 'r2', 'report.html')), '--format honoured for the other reports');

  t.equal(gw.seen.length, 1, 'one push');
  t.match(gw.seen[0], { method: 'PUT', url: '/metrics/job/pollfleet/instance/tiny' });
  t.equal(gw.seen[0]!.body, readFileSync(join(dir, 'r2', 'metrics.prom'), 'utf8'), 'the pushed body is metrics.prom');

  const store = new HistoryStore(history);
  t.teardown(() => store.close());
  const runs = store.list();
  t.equal(runs.length, 2, 'both runs recorded');
  t.same(runs.map((r) => [r.scenario, r.route, r.pass]), [['tiny', 'direct', true], ['tiny', 'direct', true]]);
  t.ok(runs[0]!.startedAt < runs[1]!.startedAt, 'oldest first');
  t.same(runs.map((r) => r.resultPath), [join(dir, 'r1', 'result.json'), join(dir, 'r2', 'result.json')]);
  t.same(store.nodeRuns(runs[1]!.id).map((n) => n.node), ['node1', 'node2'], 'per-node figures kept');
});

t.test('a failing check (exit 1, a failed push only a warning) and run --history --pushgateway --quiet, side by side', async (t) => {
  const dir = t.testdir({ 'tiny.yaml': TINY_SCENARIO });
  const history = join(dir, 'h.sqlite');
  const runHistory = join(dir, 'run.sqlite');
  const gw = await recordingGateway(t);
  const failing = spawnCli(['check', join(dir, 'tiny.yaml'), '--out', join(dir, 'failing'), '--history', history, '--threshold', 'polls < 1', '--pushgateway', await closedUrl()]);
  const run = spawnCli(['run', join(dir, 'tiny.yaml'), '--out', join(dir, 'run'), '--quiet', '--history', runHistory, '--pushgateway', gw.url]);
  const [f, r] = await Promise.all([failing.exited(RUN_MS), run.exited(RUN_MS)]);

  t.equal(f.code, 1, `check: exit 1 -- the verdict, not the push (stderr: ${failing.stderr()})`);
  const lines = failing.stdout().split('\n').filter(Boolean);
  t.equal(lines.length, 1, 'check: one line');
  // "(+1 more)": check's default harness threshold also fails when this loaded machine lagged the fleet's loop.
  t.match(lines[0], /^pollfleet check tiny: FAIL polls was [\d,]+, expected < 1( \(\+1 more\))?; coverage [\d.]+ % pickup p99 .* expired \d+ lost \d+ \(/);
  t.match(failing.stderr(), /warning: could not push metrics to the Pushgateway/);
  t.match(failing.stderr(), /exit code is unchanged/);
  t.notMatch(failing.stderr(), '    at ', 'no stack trace');
  const store = new HistoryStore(history);
  t.teardown(() => store.close());
  t.same(store.list().map((x) => x.pass), [false], 'a failed check is recorded too');

  t.equal(r.code, 0, `run: exit 0 (stderr: ${run.stderr()})`);
  t.equal(run.stdout(), '', 'run --quiet: nothing on stdout');
  t.equal(run.stderr(), '', 'run --quiet: nothing on stderr');
  t.equal(gw.seen.length, 1, 'run pushed');
  t.match(gw.seen[0]!.body, /pollfleet_coverage_ratio\{scenario="tiny",route="direct"\} 1/);
  const runStore = new HistoryStore(runHistory);
  t.teardown(() => runStore.close());
  t.equal(runStore.list({ scenario: 'tiny' }).length, 1, 'run appended to --history');
});

t.test('bad input is exit 2 before anything runs', async (t) => {
  const dir = t.testdir({
    'tiny.yaml': TINY_SCENARIO,
    'node-history.yaml': `${TINY_SCENARIO}thresholds:\n  - 'nodes.*.pickupMs.p99 < 2 x median(last 10)'\n`,
    'variants.yaml': 'name: two\nbase:\n  cluster: { nodes: 2, pollingPort: 0 }\nvariants:\n  - { name: a, route: { kind: direct } }\n  - { name: b, route: { kind: unique-port } }\n',
  });
  const history = join(dir, 'h.sqlite');
  const out = join(dir, 'out');

  // Through the CLI process (exit code, message, nothing started), alongside --help.
  const cli = spawnCli(['check', join(dir, 'node-history.yaml'), '--out', out, '--history', history]);
  const help = spawnCli(['check', '--help']);
  const [c, h] = await Promise.all([cli.exited(QUICK_MS), help.exited(QUICK_MS)]);
  t.equal(c.code, 2, `exit 2 (stderr: ${cli.stderr()})`);
  t.match(cli.stderr(), /node-history\.yaml: thresholds\[0\]: 'nodes\.\*\.pickupMs\.p99 < 2 x median\(last 10\)'.*history store keeps only pickupMs\.p99/);
  t.notMatch(cli.stderr(), '    at ', 'no stack trace');
  t.equal(cli.stdout(), '', 'nothing on stdout');
  t.notOk(existsSync(out), 'no run folder');
  t.notOk(existsSync(history), 'no history store created');

  t.equal(h.code, 0, 'check --help');
  t.match(help.stdout(), /--pushgateway <url>/);
  t.match(help.stdout(), /does not change the exit code/);
  t.match(help.stdout(), /0 every threshold passed, 1 a threshold failed, 2 bad input/);

  // The other checks in-process: the error kind maps to exit 2.
  const ctx = { stdout: new PassThrough(), stderr: new PassThrough(), isTTY: false, color: false, version: 'test' } as unknown as CliContext;
  const cases: Array<{ name: string; file: string; flags: CheckFlags; message: RegExp }> = [
    { name: 'a history reference from --threshold', file: 'tiny.yaml', flags: { threshold: ['polls > 0.5 x mean(last 3)'] }, message: /^--threshold: 'polls > 0\.5 x mean\(last 3\)' compares polls with previous runs/ },
    { name: 'a Pushgateway URL that is not http', file: 'tiny.yaml', flags: { pushgateway: 'ftp://gw:9091' }, message: /Pushgateway URL 'ftp:\/\/gw:9091' must start with http/ },
    { name: 'a comparison file', file: 'variants.yaml', flags: {}, message: /variants\.yaml: a comparison file lists several variants; check runs one scenario/ },
  ];
  for (const k of cases) {
    const e = await checkCommand(ctx, join(dir, k.file), { ...k.flags, out, history }).then(() => null, (x: unknown) => x);
    t.ok(e instanceof PollfleetError, `${k.name}: a PollfleetError`);
    t.equal(exitCodeFor((e as PollfleetError).kind), 2, `${k.name}: exit 2`);
    t.match((e as Error).message, k.message, `${k.name}: says what is wrong`);
    t.notOk(existsSync(out), `${k.name}: no run folder`);
    t.notOk(existsSync(history), `${k.name}: no history store created`);
  }
});
