import { Command, CommanderError, Option } from 'commander';
import { EXIT_BAD_INPUT, EXIT_INTERNAL_ERROR } from '../core/errors.js';
import { ROUTE_KINDS, QUEUE_KINDS } from '../scenario/schema.js';
import { clusterCommand } from './commands/cluster.js';
import { reportCommand } from './commands/report.js';
import { mergeCommand } from './commands/merge.js';
import { runCommand } from './commands/run.js';
import { checkCommand } from './commands/check.js';
import { historyCommand } from './commands/history.js';
import { cleanupCommand } from './commands/cleanup.js';
import { importConfigCommand } from './commands/import-config.js';
import { preflightCommand } from './commands/preflight.js';
import { CHECK_DEFAULTS, PROTOCOL_DEFAULTS, RUN_DEFAULTS } from '../scenario/defaults.js';
import { cliContext, reportError } from './context.js';
import { installCliProcessPolicy, internalErrors } from './process-policy.js';

const ctx = cliContext();
// A stray rejection or exception is a reported internal error (exit 3) and a clean shutdown, never a silent death.
installCliProcessPolicy(ctx.stderr);
const collect = (v: string, prev: string[] = []) => [...prev, v];

const program = new Command()
  .name('pollfleet')
  .description(
    'Prove that an Octopus Deploy HA cluster gets every node polled by polling Tentacles. ' +
      'A simulated fleet speaks the real polling protocol over mutual TLS to every node -- directly, ' +
      'through an NLB-like (layer 4) or ALB-like (layer 7) balancer -- and measures whether each ' +
      "node's queued work is collected promptly. With no target configured it brings up an embedded " +
      'cluster on loopback; pointed at real hosts it tests a real cluster.',
  )
  .version(ctx.version)
  .showHelpAfterError('(run pollfleet --help for usage)')
  // Before the commands are added, so every subcommand inherits it: commander copies these
  // settings when `.command()` creates a subcommand, and one that exits on its own exits 1 on a
  // typo -- the code that means "a threshold failed" to a scheduler.
  .exitOverride()
  .addHelpText(
    'after',
    `
Exit codes:
  0  every threshold passed (for compare: every route behaved as its scenario expects)
  1  a threshold failed -- the console and every report say which, actual vs expected
  2  bad input or configuration, or the environment could not start
  3  internal error: a bug in pollfleet itself (not the cluster, not the input) -- please report it

Examples:
  pollfleet compare scenarios/compare-aws.yaml     ALB vs NLB vs direct, side by side (npm start)
  pollfleet run scenarios/direct.yaml              3 nodes, one address each, 50 tentacles
  pollfleet run scenarios/direct.yaml --tentacles 200 --duration 2m
  pollfleet run --node 10.0.0.5:10943 --node 10.0.0.6:10943 --thumbprint <THUMB> \\
      --cert tentacle.pem --key tentacle.key --duration 60s      quick check of real nodes
  pollfleet cluster --state-dir /tmp/pf            a cluster for a real Tentacle to poll
  pollfleet report reports/<run>/result.json --format html
  pollfleet check scenarios/check.yaml             scheduled check: one line, exit code, history
  pollfleet history --last 20                      trend of recorded checks, regressions flagged

Scenario reference: scenarios/README.md. Reports land in reports/<name>-<time>/.`,
  );

/** Seconds for --help, from the named settings. */
const secs = (ms: number) => `${ms / 1000}s`;
const QUEUE_WAIT = secs(PROTOCOL_DEFAULTS.pollingQueueWaitMs);

const runOptions = (c: Command) =>
  c
    .option('-o, --out <dir>', 'run folder (default reports/<name>-<time>)')
    .option('-d, --duration <duration>', `steady-state length after ramp-up, e.g. 30s, 2m (default ${secs(RUN_DEFAULTS.durationMs)}; ${secs(RUN_DEFAULTS.externalDurationMs)} against a real cluster, whose idle nodes answer only after their ${QUEUE_WAIT} polling queue wait)`)
    .option('-t, --tentacles <n>', 'fleet size')
    .option('--workers <auto|n>', 'fleet.workers: worker threads running the tentacles (default 1: single-threaded; auto: one per ~2,500 tentacles, at most cores - 1)')
    .option('-n, --nodes <n>', 'embedded cluster size')
    .addOption(new Option('--route <kind>', 'how polling reaches the nodes').choices([...ROUTE_KINDS]))
    .addOption(new Option('--queue <kind>', 'pending-request queue: one per node (classic HA) or shared (multi-node polling)').choices([...QUEUE_KINDS]))
    .option('--threshold <expr>', "extra threshold, repeatable, e.g. 'pickupMs.p99 < 5000'", collect)
    .option('--format <list>', 'reports to write: md,html,junit,prom (default all)')
    .option('-q, --quiet', 'no progress and no table; exit code and files only')
    .option('--json', 'print a machine-readable summary to stdout (no progress)')
    .option('--history <file>', 'history store (SQLite): history thresholds read earlier runs from it, and the run is appended')
    .option('--pushgateway <url>', 'push metrics.prom to this Prometheus Pushgateway (a failed push is a warning; the exit code is unchanged)')
    .option('--shard <i/n>', 'external targets: run only the i-th of n slices of the fleet (its own tentacles, certificates and subscriptions); merge the n result.json files with `pollfleet merge`');

runOptions(
  program
    .command('run')
    .argument('[scenario]', 'scenario file (YAML or JSON); see scenarios/')
    .description('run one scenario (or every variant of a comparison file) and write result.json plus reports')
    .option('--node <host:port>', 'external run from flags: a node polling address, repeatable', collect)
    .option('--thumbprint <hex>', 'external run: the expected server thumbprint')
    .option('--cert <file>', 'external run: tentacle certificate (PEM) already trusted by the cluster')
    .option('--key <file>', 'external run: tentacle private key (PEM)')
    .option('--pfx <file>', 'external run: tentacle certificate and key as PFX')
    .option('--subscription-id <poll://id/>', 'refused: pollfleet never polls with a given (real machine\'s) subscription; each tentacle gets a fresh one')
    .option('--plan', 'print exactly what would be opened and registered, then stop (no socket is opened)')
    .option('--i-understand-load', 'lift the safety limits for a real cluster (fleet size, connections, registration rate, duration)'),
).action(async (scenario: string | undefined, opts) => {
  process.exitCode = await runCommand(ctx, scenario, opts);
});

runOptions(
  program
    .command('compare')
    .argument('<scenario>', 'comparison file listing variants (e.g. scenarios/compare-aws.yaml)')
    .description('run the same fleet and workload through several routes, one after another, and compare them'),
).action(async (scenario: string, opts) => {
  process.exitCode = await runCommand(ctx, scenario, opts);
});

program
  .command('cluster')
  .description('start an embedded cluster on its own until Ctrl-C (for real Tentacles or other tools)')
  .option('-n, --nodes <n>', 'number of nodes', '3')
  .addOption(new Option('--route <kind>', 'addressing: one address per node, or one address and a port per node').choices(['direct', 'unique-port']).default('direct'))
  .option('--polling-port <port>', 'first polling port (0 = any free port)', '10943')
  .option('--address-base <ip>', 'first loopback address for direct routing', '127.0.0.11')
  .addOption(new Option('--queue <kind>', 'pending-request queue').choices([...QUEUE_KINDS]))
  .option('--api-https', 'serve the REST API over HTTPS')
  .option('--polling-queue-wait <duration>', `how long a node waits for work before the null message (real ${QUEUE_WAIT})`)
  .option('--collection-timeout <duration>', 'PollingRequestQueueTimeout (real 2m)')
  .option('--workload-interval <duration>', 'how often each node queues a probe per tentacle (default 10s)')
  .option('--no-workload', 'queue no work of its own: only tasks started over the REST API (POST /api/tasks) run')
  .option('--state-dir <dir>', 'write cluster.json (API key, thumbprint, node addresses) and the server certificate here')
  .action(async (opts) => {
    process.exitCode = await clusterCommand(ctx, opts);
  });

program
  .command('report')
  .argument('<file>', 'result.json or comparison.json of an earlier run')
  .description('re-render the reports of an earlier run from its JSON')
  .option('--format <list>', 'md,html,junit,prom (default all)')
  .option('-o, --out <dir>', 'where to write (default: next to the JSON)')
  .option('-q, --quiet', 'write files only')
  .action(async (file: string, opts) => {
    process.exitCode = await reportCommand(ctx, file, opts);
  });

program
  .command('merge')
  .argument('<results...>', 'result.json files of the shards (run --shard i/n), or folders holding them')
  .description('merge the shards of one run exactly (histograms added, counters summed, coverage over every pair), judge the thresholds once, write every report')
  .option('-o, --out <dir>', 'where to write the merged result.json and reports (default reports/<name>-merged-<time>)')
  .option('--threshold <expr>', 'extra threshold, repeatable', collect)
  .option('--format <list>', 'md,html,junit,prom (default all)')
  .option('-q, --quiet', 'write files only; the exit code is the merged verdict')
  .option('--json', 'print a machine-readable summary to stdout')
  .action(async (results: string[], opts) => {
    process.exitCode = await mergeCommand(ctx, results, opts);
  });

program
  .command('check')
  .argument('<scenario>', 'scenario file (YAML or JSON), e.g. scenarios/check.yaml')
  .description(
    'a short, low-impact scheduled check for cron, CI or a Kubernetes CronJob: no output while it runs, ' +
      'one summary line, result.json + reports + metrics.prom in the run folder, the run appended to the history store',
  )
  .option('-o, --out <dir>', 'run folder (default reports/<name>-<time>)')
  .option('-d, --duration <duration>', `steady-state length after ramp-up, e.g. 20s (${secs(PROTOCOL_DEFAULTS.pollingQueueWaitMs + RUN_DEFAULTS.externalDurationSlackMs)} or more against a real cluster: its idle nodes answer only after their ${QUEUE_WAIT} polling queue wait)`)
  .option('-t, --tentacles <n>', 'fleet size')
  .option('-n, --nodes <n>', 'embedded cluster size')
  .addOption(new Option('--route <kind>', 'how polling reaches the nodes').choices([...ROUTE_KINDS]))
  .addOption(new Option('--queue <kind>', 'pending-request queue').choices([...QUEUE_KINDS]))
  .option('--threshold <expr>', "extra threshold, repeatable, e.g. 'pickupMs.p99 < 2 x median(last 10)'", collect)
  .option('--format <list>', 'reports to write: md,html,junit,prom (default all; metrics.prom is always written)')
  .option('--history <file>', 'history store (SQLite) to read history thresholds from and append the run to', CHECK_DEFAULTS.historyFile)
  .option('--pushgateway <url>', 'also push metrics.prom to this Prometheus Pushgateway (job "pollfleet", instance = scenario name)')
  .option('--progress', 'show progress and the run log on stderr')
  .option('-q, --quiet', 'no summary line; exit code and files only')
  .option('--json', 'print a machine-readable summary instead of the summary line')
  .addHelpText(
    'after',
    `
Prints one line, e.g.
  pollfleet check check: PASS coverage 100 % pickup p99 3.1 ms expired 0 (reports/check-20250101-030000)
  pollfleet check check: FAIL requests.expired was 3, expected == 0; coverage 100 % ... (reports/...)

Exit codes: 0 every threshold passed, 1 a threshold failed, 2 bad input or the environment
could not start, 3 internal error (a bug in pollfleet). A Pushgateway push that fails, or a history append that fails after the run,
is reported on stderr and does not change the exit code. Interrupted runs are not recorded.

History thresholds (e.g. 'pickupMs.p99 < 2 x median(last 10)') compare with earlier runs of the
same scenario and route in the history store; they may use pickupMs.p99, coverage.min,
coverage.final, requests.expired and reconnects (any other metric is exit 2 before the run).
With no earlier runs they pass.

Cron:  */15 * * * * cd /opt/pollfleet && pollfleet check scenarios/check.yaml --pushgateway http://pushgateway:9091
Kubernetes CronJob: scenarios/cron/pollfleet-cronjob.yaml`,
  )
  .action(async (scenario: string, opts) => {
    process.exitCode = await checkCommand(ctx, scenario, opts);
  });

program
  .command('history')
  .description('the trend of recorded runs (oldest first): verdict, coverage, pickup p99, expired, reconnects; regressions flagged')
  .option('--history <file>', 'history store (SQLite)', CHECK_DEFAULTS.historyFile)
  .option('--scenario <name>', 'only runs of this scenario')
  .option('--route <kind>', 'only runs through this route')
  .option('--last <n>', 'only the newest N runs (regressions still judged against older ones)')
  .option('--json', 'print the runs and regressions as JSON')
  .option('--fail-on-regression', 'exit 1 when a shown run is a regression (use --last 1 to judge only the newest)')
  .addHelpText(
    'after',
    `
A run is a regression when, against earlier runs of the same scenario and route, its pickup p99
is more than 2x the median of the previous 10, its coverage.min fell below the lowest before, or
its verdict turned from pass to fail.

Exit codes: 0 shown (also with regressions, unless --fail-on-regression), 1 a regression with
--fail-on-regression, 2 bad input (e.g. the history file does not exist), 3 internal error (a bug in pollfleet).`,
  )
  .action((opts) => {
    process.exitCode = historyCommand(ctx, opts);
  });

program
  .command('import-config')
  .argument('<file>', "a polling Tentacle's Tentacle.config")
  .description('write a scenario that tests exactly the server entries this Tentacle polls (stdout, or -o)')
  .option('-o, --out <file>', 'write the scenario here (YAML) instead of stdout')
  .option('--name <name>', 'scenario name (default: from -o, else "imported")')
  .action(async (file: string, opts) => {
    process.exitCode = await importConfigCommand(ctx, file, opts);
  });

program
  .command('preflight')
  .alias('doctor')
  .argument('<scenario>', 'scenario with target: external (e.g. from import-config)')
  .description(
    'check a real cluster step by step, per node: DNS, TCP, TLS (the certificate presented, named: node certificate, ' +
      'TLS-terminating device, TLS interception, SHA-1), thumbprint, the page register-with POSTs to (/handshake, or the wss URL), ' +
      'a polling identification with a fresh subscription, ping (200 / 418 drain); then the public API (and Redis for multi-node ' +
      'polling) and, with an API key, drift: task-processing nodes the scenario never polls, drained nodes. Read-only unless --register',
  )
  .option('--json', 'print the report as JSON')
  .option('--register', 'register one synthetic machine to identify with (deleted again at the end)')
  .option('--api-key <key>', 'API key (discouraged: it ends up in shell history; use external.apiKeyEnv or apiKeyFile)')
  .addHelpText('after', '\nExit codes: 0 every step passed (skipped steps say what to add), 1 a step failed or a task-processing node is never polled, 2 bad input, 3 internal error (a bug in pollfleet).')
  .action(async (scenario: string, opts) => {
    process.exitCode = await preflightCommand(ctx, scenario, opts);
  });

program
  .command('cleanup')
  .description('delete synthetic machines a run left behind, exactly those listed in its ledger')
  .option('--ledger <file>', 'ledger file (default reports/.pollfleet-ledger.json, or the scenario\'s)')
  .option('--scenario <file>', 'take the ledger and the API key source from this scenario')
  .option('--api-key-env <name>', 'environment variable holding the API key (default OCTOPUS_API_KEY)')
  .option('--api-key-file <file>', 'file holding the API key')
  .option('--api-key <key>', 'API key (discouraged: it ends up in shell history)')
  .option('--force', 'also delete machines of a run that still seems to be going')
  .addHelpText('after', '\nExit codes: 0 nothing left, 1 some machines could not be deleted (they stay in the ledger), 2 bad input, 3 internal error (a bug in pollfleet).')
  .action(async (opts) => {
    process.exitCode = await cleanupCommand(ctx, opts);
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  } else {
    process.exitCode = reportError(ctx, e);
  }
}
if (internalErrors().length) process.exitCode = EXIT_INTERNAL_ERROR;
