/**
 * Benchmark: hold a large fleet on the embedded cluster and report what it costs, side by side
 * with the raw baseline measured first in the same run (bench/raw-tls.ts: a bare node:tls
 * mutual-TLS pair, RSA-2048 both ways, on the same machine).
 *   npm run bench                                   2,000 tentacles x 3 nodes, held 60 s
 *   npm run bench -- --tentacles 10000 --duration 60s --json bench.json
 *   npm run bench -- --tentacles 10000 --shards 2   the same fleet held by 2 shard processes
 * Options: `npm run bench -- --help` (USAGE below). --ramp-up defaults to the time the raw pair
 * needs for the same number of handshakes, so a fleet that keeps up with raw TLS ramps at its
 * speed; --raw-sockets to the fleet's connection count, at most 30,000 and at most what one process
 * may open. --shards N >= 2 holds the fleet in N `pollfleet run --shard i/N` processes against one
 * standalone `pollfleet cluster` (bench/sharded-hold.ts), for fleets past one process's open-file
 * limit (every connection is a descriptor: 10,000 tentacles x 3 nodes are 30,000); the same
 * figures, measured over all shard and node processes. Refused up front when a shard or a node
 * process would not fit its limit.
 * The workload is the realistic one: a node waits the real 30 s before its null message, and
 * queues one short request per tentacle every 5 minutes. Not a test: numbers, not verdicts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { writeFileAtomic } from '../src/core/atomic-write.js';
import { fleetWorkerCount } from '../src/plan/worker-count.js';
import { scenarioFromObject } from '../src/scenario/loader.js';
import { runScenario } from '../src/run/run-scenario.js';
import { PollfleetError } from '../src/core/errors.js';
import { checkOpenFiles } from '../src/run/open-files.js';
import { measureRawTls } from './raw-tls.js';
import { checkShardedOpenFiles, holdSharded, shardSockets, shardsThatFit, type HoldFigures } from './sharded-hold.js';
import { rerunWithMallocSettings } from './malloc-settings.js';
import { benchArgs, durationArg, numberArg, usageError } from './cli-args.js';

const USAGE = `Usage: npm run bench -- [options]

Measure a bare node:tls mutual-TLS pair (RSA-2048) on this machine, then pollfleet holding a fleet
on the embedded cluster with the realistic workload, and print both side by side with the ratios.

Options:
  --tentacles N     fleet size; each tentacle polls 3 nodes (default 2000)
  --duration D      hold after the ramp-up (default 60s)
  --ramp-up D       ramp-up (default: as long as the raw pair needs for the same handshakes)
  --workers auto|N  fleet.workers (default auto; per shard with --shards)
  --shards N        hold the fleet in N \`pollfleet run --shard i/N\` processes against one
                    standalone cluster (default 1: this process)
  --raw-sockets N   the raw pair's socket count (default: the fleet's connections, at most 30,000)
  --json FILE       write the figures as JSON
  -h, --help        this text

Examples:
  npm run bench
  npm run bench -- --tentacles 10000 --shards 2 --ramp-up 420s --duration 120s --json bench.json`;
const values = benchArgs('bench', USAGE, {
  tentacles: { type: 'string', default: '2000' },
  duration: { type: 'string', default: '60s' },
  'ramp-up': { type: 'string' },
  workers: { type: 'string', default: 'auto' },
  shards: { type: 'string', default: '1' },
  'raw-sockets': { type: 'string' },
  json: { type: 'string' },
});
rerunWithMallocSettings();

/**
 * The direct child processes of this one (the node processes): /proc/<pid>/task/<tid>/children
 * names them without scanning every process of the machine each second (which cost the fleet
 * process ~1.5 % of its CPU in the profile); the full scan is the fallback.
 */
function childPids(): string[] {
  try {
    return readdirSync(`/proc/${process.pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'utf8').split(' ').filter((p) => p !== ''));
  } catch {
    return readdirSync('/proc').filter((d) => {
      if (!/^\d+$/.test(d)) return false;
      try {
        return Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1]) === process.pid;
      } catch {
        return false;
      }
    });
  }
}

/** RSS (bytes) of every direct child process of this one (the node processes). */
function childrenRss(): number {
  let sum = 0;
  for (const d of childPids()) {
    try {
      sum += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      /* gone */
    }
  }
  return sum;
}

const NODES = 3;
const tentacles = numberArg('bench', USAGE, 'tentacles', values.tentacles, 1, true);
const duration = values.duration!;
durationArg('bench', USAGE, 'duration', duration);
if (values['ramp-up'] !== undefined) durationArg('bench', USAGE, 'ramp-up', values['ramp-up']);
const shards = numberArg('bench', USAGE, 'shards', values.shards, 1, true);
if (shards > tentacles) usageError('bench', USAGE, `--shards ${shards}: expected a whole number from 1 (this process) to the tentacle count (${tentacles})`);
const workersArg = values.workers!;
const workers = workersArg === 'auto' ? 'auto' : numberArg('bench', USAGE, 'workers', workersArg, 1, true);
const connections = tentacles * NODES;
// Every connection is a file descriptor in the fleet process, and the raw pair holds as many on
// each side: the run's own check (src/run/open-files.ts), made before the raw baseline too.
// Sharded: per shard process (its slice x the nodes) and per node process (every tentacle).
try {
  if (shards === 1) checkOpenFiles(connections);
  else checkShardedOpenFiles(tentacles, NODES, shards);
} catch (e) {
  if (!(e instanceof PollfleetError)) throw e;
  const fitting = shards === 1 ? shardsThatFit(tentacles, NODES) : null;
  const hint = `${e.hint ?? ''}${fitting ? `\n  or hold it in shard processes: npm run bench -- --tentacles ${tentacles} --shards ${fitting}` : ''}`;
  process.stderr.write(`bench: ${tentacles} tentacles x ${NODES} nodes${shards > 1 ? ` in ${shards} shards` : ''}: ${e.message}\n  ${hint}\n`);
  process.exit(2);
}
/** The raw pair's client side is one process: sharded, at most what one process may open (a shard's count does). */
function rawFits(n: number): boolean {
  try {
    checkOpenFiles(n);
    return true;
  } catch {
    return false;
  }
}
const rawDefault = Math.min(connections, 30_000);
const rawSockets = values['raw-sockets'] !== undefined
  ? numberArg('bench', USAGE, 'raw-sockets', values['raw-sockets'], 1, true)
  : shards === 1 || rawFits(rawDefault) ? rawDefault : shardSockets(tentacles, NODES, shards);
const jsonFile = values.json ?? null;

process.stderr.write(`raw baseline: ${rawSockets} mutual-TLS sockets (node:tls, RSA-2048), 64 handshakes in flight...\n`);
const raw = await measureRawTls(rawSockets);
process.stderr.write(`raw baseline: ${raw.handshakesPerSec} handshakes/s, ${raw.clientKiBPerSocket} KiB per client socket, ${raw.serverKiBPerSocket} KiB per server socket\n`);
const rampUp = values['ramp-up'] ?? `${Math.max(1, Math.ceil(connections / raw.handshakesPerSec))}s`;

/** The single-process run (--shards 1): the fleet in this process, on the embedded cluster. */
async function holdHere(): Promise<HoldFigures> {
  const s = scenarioFromObject({
    name: 'bench-fleet-hold',
    route: { kind: 'direct' },
    cluster: { nodes: NODES, pollingPort: 0 },
    fleet: { tentacles, rampUp, registrationConcurrency: 32, workers },
    workload: { interval: '5m', scriptShare: 0.1 },
    duration,
  }, 'bench');
  const workerThreads = fleetWorkerCount(s.fleet.workers, tentacles);
  process.stderr.write(`fleet: ${workerThreads === 1 ? 'one thread (no worker threads)' : `${workerThreads} worker threads`} (--workers ${workersArg})\n`);

  (globalThis as { gc?: () => void }).gc?.();
  const fleetRss0 = process.memoryUsage().rss;
  let nodesRss0: number | null = null;
  let peakFleetRss = 0;
  let peakNodesRss = 0;
  let rampHandshakes = 0;
  let rampSeconds = 0;
  let peakHandshakes = 0;
  const result = await runScenario(s, {
    workDir: os.tmpdir(),
    toolVersion: 'bench',
    progress: (p) => {
      const nodes = childrenRss();
      nodesRss0 ??= nodes; // the first tick: nodes up, nothing connected yet
      peakFleetRss = Math.max(peakFleetRss, process.memoryUsage().rss);
      peakNodesRss = Math.max(peakNodesRss, nodes);
      if (p.phase === 'ramping') {
        rampHandshakes += p.point.handshakes;
        rampSeconds += 1;
      }
      peakHandshakes = Math.max(peakHandshakes, p.point.handshakes);
      if (Math.round(p.elapsedMs / 1000) % 10 === 0) {
        process.stderr.write(`${Math.round(p.elapsedMs / 1000)}s ${p.phase} started ${p.started}/${p.tentacles} coverage ${(p.point.coverage * 100).toFixed(1)}% handshakes/s ${p.point.handshakes}\n`);
      }
    },
  });

  const held = result.nodes.reduce((a, n) => a + (n.connectedTentacles ?? 0), 0);
  const per = (bytes: number) => Math.round(bytes / 1024 / Math.max(1, held));
  return {
    workers: workerThreads,
    connectionsHeld: held,
    coverageFinal: result.summary.coverage.final,
    expired: result.summary.requests?.expired ?? null,
    handshakesPerSec: Math.round(rampHandshakes / Math.max(1, rampSeconds)),
    peakHandshakes,
    fleetKiBPerConnection: per(peakFleetRss - fleetRss0),
    nodeKiBPerConnection: per(peakNodesRss - (nodesRss0 ?? 0)),
    // The issue's figure is the loop while the connections are held: from the end of the ramp.
    loopDelayP99Ms: result.harness?.fleet.steadyLoopDelayMs?.p99 ?? null,
    wholeRunLoopDelayP99Ms: result.harness?.fleet.loopDelayMs.p99 ?? null,
    pickupP99Ms: result.summary.pickupMs?.p99 ?? null,
    errors: result.summary.errors,
  };
}

const m = shards === 1
  ? await holdHere()
  : await holdSharded({ tentacles, nodes: NODES, shards, rampUp, duration, workers, log: (line) => process.stderr.write(`${line}\n`) });
const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : null);
const held = m.connectionsHeld;
const handshakesPerSec = m.handshakesPerSec;
const fleetKiB = m.fleetKiBPerConnection;
const nodeKiB = m.nodeKiBPerConnection;
const workerThreads = m.workers;
const figures = {
  tentacles,
  nodes: NODES,
  shards,
  workers: workerThreads,
  glibcTunables: process.env['GLIBC_TUNABLES'] || null,
  connectionsHeld: held,
  coverageFinal: m.coverageFinal,
  handshakesPerSec,
  rawHandshakesPerSec: raw.handshakesPerSec,
  handshakeRatio: ratio(handshakesPerSec, raw.handshakesPerSec),
  fleetKiBPerConnection: fleetKiB,
  rawClientKiBPerConnection: raw.clientKiBPerSocket,
  fleetRssRatio: ratio(fleetKiB, raw.clientKiBPerSocket),
  nodeKiBPerConnection: nodeKiB,
  rawServerKiBPerConnection: raw.serverKiBPerSocket,
  nodeRssRatio: ratio(nodeKiB, raw.serverKiBPerSocket),
  loopDelayP99Ms: m.loopDelayP99Ms,
  wholeRunLoopDelayP99Ms: m.wholeRunLoopDelayP99Ms,
  pickupP99Ms: m.pickupP99Ms,
};

const row = (name: string, raw: string, fleet: string, r: number | string | null, target: string) => `${name.padEnd(28)} ${raw.padStart(12)} ${fleet.padStart(12)} ${(r === null ? '-' : typeof r === 'string' ? r : `${r}x`).padStart(8)}   ${target}`;
console.log(`machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; GLIBC_TUNABLES ${process.env['GLIBC_TUNABLES'] || 'unset (glibc defaults)'}`);
// Single-process: the line as it always read; sharded: where the fleet ran, and threads per shard.
const threads = shards === 1
  ? `${workerThreads === 1 ? 'single-threaded fleet' : `${workerThreads} fleet worker threads`} (--workers ${workersArg})`
  : `${shards} shard processes against a standalone cluster, ${workerThreads === 1 ? 'single-threaded shards' : `${workerThreads} worker threads per shard`} (--workers ${workersArg})`;
console.log(`fleet: ${tentacles} tentacles x ${NODES} nodes, ${threads}, ramp-up ${rampUp}, steady ${duration}; connections held ${held} of ${connections}; coverage final ${m.coverageFinal}, expired ${m.expired ?? '-'}`);
console.log(row('', 'raw TLS', 'pollfleet', 'ratio', 'target'));
console.log(row('handshakes/s (ramp)', String(raw.handshakesPerSec), String(handshakesPerSec), figures.handshakeRatio, '>= 0.9x'));
console.log(row('KiB per connection, client', String(raw.clientKiBPerSocket), String(fleetKiB), figures.fleetRssRatio, '<= 1.1x'));
console.log(row('KiB per connection, server', String(raw.serverKiBPerSocket), String(nodeKiB), figures.nodeRssRatio, '<= 1.3x'));
console.log(`fleet event-loop delay p99 while held${shards === 1 ? '' : ' (worst shard)'} ${figures.loopDelayP99Ms ?? '-'} ms (target <= 20 ms; whole run, ramp included: ${figures.wholeRunLoopDelayP99Ms ?? '-'} ms); pickup p99 ${figures.pickupP99Ms ?? '-'} ms; peak handshakes/s ${m.peakHandshakes}; errors ${JSON.stringify(m.errors)}`);
if (jsonFile) {
  writeFileAtomic(jsonFile, JSON.stringify(figures, null, 2) + '\n');
  console.log(`figures written to ${jsonFile}`);
}
