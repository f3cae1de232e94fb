/**
 * The sharded half of the bench (`npm run bench -- --shards N`, N >= 2): a fleet too large for
 * one process's open-file limit held by N shard processes against one standalone cluster, the
 * way `pollfleet` itself shards a run against a real cluster:
 *   - `pollfleet cluster --state-dir TMP/cluster --workload-interval 5m` as a child process (the
 *     realistic workload: the real 30 s queue wait, one short request per tentacle every 5 min);
 *   - an external scenario written from its cluster.json (allowLoad, synthetic registration at a
 *     rate per shard that keeps up with the ramp, the ledger in the temp dir; the API key only in
 *     the shard processes' environment);
 *   - N `pollfleet run SCENARIO --shard i/N --json -o TMP/shards/shard-i` started together;
 *   - the RSS of every shard process and every node process sampled from /proc each second;
 *   - the shards' result.json merged (src/result/merge.ts) for connections, handshakes, coverage.
 * Every child is started from the TypeScript sources through tsx (as the tests do), so no build
 * is needed. Clean-up always runs (error, Ctrl-C): shards and cluster get SIGINT, then SIGKILL
 * after a bound, and the temp dir is removed. Every wait is bounded.
 *
 * The figures follow the single-process bench (bench/fleet-hold.ts) so the ratios compare:
 * - KiB per connection: (peak RSS while held - RSS before connecting) / connections held, for
 *   the fleet (every shard process together) and for the nodes (every node process together).
 *   Differences: a shard's baseline is its last sample before its run started (the single
 *   bench takes its own RSS after a gc(), which cannot be asked of another process, and after
 *   the raw baseline ran in it, whose freed memory glibc may keep; a shard starts fresh); the fleet's
 *   peak is the sum of each shard's own peak (an upper bound when shards peak in different
 *   seconds; they hold the same share of the fleet, so they level off together). A shard's peak
 *   is taken until its run starts stopping (the end of its timeline's held part), so writing its
 *   reports does not count.
 * - handshakes/s during the ramp: the merged timeline's handshakes in its `ramping` seconds
 *   divided by those seconds (the single bench sums its 1 s progress ticks in the ramping
 *   phase: the same counts, per process; a merged second is `ramping` while any shard ramps).
 * - pickup latency: none (printed -): an external run sees only the tentacle side, and a
 *   request's queue time is the node's. Expired requests likewise.
 * - event-loop delay p99 while held: the worst shard's `harness.fleet.steadyLoopDelayMs.p99`
 *   (from the end of its ramp); the whole run's, the worst shard's `loopDelayMs.p99`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PollfleetError } from '../src/core/errors.js';
import { checkOpenFiles, readOpenFileLimits, type OpenFileLimits } from '../src/run/open-files.js';
import { fleetWorkerCount } from '../src/plan/worker-count.js';
import { mergeResults } from '../src/result/merge.js';
import { readResultFile, isComparison } from '../src/result/read-result-file.js';
import type { Result } from '../src/result/result.js';
import { scenarioFromObject } from '../src/scenario/loader.js';
import { parseDuration } from '../src/scenario/duration.js';

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI_MAIN = join(PROJECT_ROOT, 'src', 'cli', 'main.ts');
/** The environment variable the shards read the cluster's API key from (never a command line). */
const API_KEY_ENV = 'POLLFLEET_BENCH_API_KEY';
/** RSS sampling: twice a second, so a shard's last sample before its run starts is close to it. */
const SAMPLE_MS = 500;
/** Bounds: the cluster's start (cluster.json written), a child's exit after SIGINT, the shards' run beyond ramp + duration. */
const CLUSTER_START_MS = 120_000;
const STOP_GRACE_MS = 30_000;
const SHARD_SLACK_MS = 300_000;

/** What the bench prints and writes, measured by either the single-process or the sharded run. */
export interface HoldFigures {
  workers: number;
  connectionsHeld: number;
  coverageFinal: number;
  expired: number | null;
  handshakesPerSec: number;
  peakHandshakes: number;
  fleetKiBPerConnection: number;
  nodeKiBPerConnection: number;
  loopDelayP99Ms: number | null;
  wholeRunLoopDelayP99Ms: number | null;
  pickupP99Ms: number | null;
  errors: Record<string, number>;
}

export interface ShardedHoldOptions {
  tentacles: number;
  nodes: number;
  shards: number;
  rampUp: string;
  duration: string;
  workers: 'auto' | number;
  log: (line: string) => void;
}

/** Sockets of the largest shard process: its slice of the fleet, one per node each. */
export function shardSockets(tentacles: number, nodes: number, shards: number): number {
  return Math.ceil(tentacles / shards) * nodes;
}

function fits(sockets: number, limits: OpenFileLimits | null): boolean {
  try {
    checkOpenFiles(sockets, limits);
    return true;
  } catch (e) {
    if (e instanceof PollfleetError) return false;
    throw e;
  }
}

/**
 * The fewest shards (at least `from`) whose processes fit the open-file limit, or null when none
 * does: each node process holds every tentacle, whatever the shard count.
 */
export function shardsThatFit(tentacles: number, nodes: number, limits: OpenFileLimits | null = readOpenFileLimits(), from = 2): number | null {
  if (!fits(tentacles, limits)) return null;
  let n = Math.max(1, from);
  while (n < tentacles && !fits(shardSockets(tentacles, nodes, n), limits)) n++;
  return n;
}

/**
 * Refuse up front (as the single-process bench does) when a shard process or a node process
 * would not fit its open-file limit: every connection is a descriptor of one shard and of one
 * node. The hint names the smallest shard count that fits, or says that none does.
 */
export function checkShardedOpenFiles(tentacles: number, nodes: number, shards: number, limits: OpenFileLimits | null = readOpenFileLimits()): void {
  if (!fits(tentacles, limits)) {
    throw new PollfleetError('environment.failed', `each node process holds all ${tentacles} tentacles, one socket each, but a process may open only ${limits!.soft} files (ulimit -n; hard limit ${limits!.hard})`, {
      hint: 'no shard count helps a node process: use fewer tentacles, or raise the limit (ulimit -n)',
    });
  }
  if (fits(shardSockets(tentacles, nodes, shards), limits)) return;
  const enough = shardsThatFit(tentacles, nodes, limits, shards + 1)!;
  throw new PollfleetError(
    'environment.failed',
    `${shards} shards hold ${shardSockets(tentacles, nodes, shards)} sockets each, past a process's open-file limit (${limits!.soft}, ulimit -n)`,
    { hint: `use --shards ${enough} (${shardSockets(tentacles, nodes, enough)} sockets per shard), or fewer tentacles` },
  );
}

/** VmRSS of a process in bytes; null when it is gone. */
function rssOf(pid: number): number | null {
  try {
    const kib = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? null : Number(kib) * 1024;
  } catch {
    return null;
  }
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Child {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stderrTail: () => string;
}

/** `pollfleet <args>` from the sources (no build needed), cwd = project root. */
function startCli(name: string, args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', () => undefined);
  return { name, child, exited, stderrTail: () => tail };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Wait at most `ms` for the child to exit; true when it did. */
async function exitWithin(c: Child, ms: number): Promise<boolean> {
  if (!isAlive(c.child)) return true;
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([c.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return done;
}

/** SIGINT, then SIGKILL after the grace period. */
async function stopChild(c: Child): Promise<void> {
  if (!isAlive(c.child)) return;
  c.child.kill('SIGINT');
  if (await exitWithin(c, STOP_GRACE_MS)) return;
  c.child.kill('SIGKILL');
  await exitWithin(c, 5_000);
}

interface ClusterState {
  apiKey: string;
  spaceId: string;
  serverThumbprint: string;
  nodes: { name: string; pollingHost: string; pollingPort: number; apiUrl: string; pid: number | null }[];
}

interface Sample {
  at: number;
  shards: (number | null)[];
  nodes: number;
}

function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw new PollfleetError('input.invalid', `${JSON.stringify(text)}: not a duration (e.g. 60s, 5m)`);
  return ms;
}

function mib(bytes: number | null): string {
  return bytes === null ? '-' : String(Math.round(bytes / 2 ** 20));
}

/** Wall-clock ms of a timeline point's second (its `t` is ms from the run's start). */
function wallOf(r: Result, t: number): number {
  return Date.parse(r.startedAt) + t;
}

/** When a shard's run began stopping (the end of its held part): its first `stopping` point, else its end. */
function heldUntil(r: Result): number {
  const p = r.timeline.find((x) => x.phase === 'stopping');
  return p ? wallOf(r, p.t) : Date.parse(r.finishedAt);
}

export async function holdSharded(o: ShardedHoldOptions): Promise<HoldFigures> {
  const tmp = mkdtempSync(join(os.tmpdir(), 'pollfleet-bench-'));
  const stateDir = join(tmp, 'cluster');
  let cluster: Child | null = null;
  let nodePids: number[] = [];
  const shards: Child[] = [];
  let sampler: NodeJS.Timeout | undefined;
  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    (cleaned ??= (async () => {
      clearInterval(sampler);
      await Promise.all(shards.map(stopChild));
      if (cluster) await stopChild(cluster);
      // A cluster killed outright leaves its node processes behind.
      for (const pid of nodePids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    o.log(`bench: ${signal}: stopping the shards and the cluster...`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    cluster = startCli('cluster', ['cluster', '--nodes', String(o.nodes), '--polling-port', '0', '--state-dir', stateDir, '--workload-interval', '5m']);
    const clusterFile = join(stateDir, 'cluster.json');
    const deadline = Date.now() + CLUSTER_START_MS;
    while (!existsSync(clusterFile)) {
      if (!isAlive(cluster.child)) throw new Error(`pollfleet cluster exited (${cluster.child.exitCode}): ${cluster.stderrTail()}`);
      if (Date.now() > deadline) throw new Error(`pollfleet cluster wrote no cluster.json within ${CLUSTER_START_MS / 1000} s`);
      await sleep(250);
    }
    const state = JSON.parse(readFileSync(clusterFile, 'utf8')) as ClusterState;
    nodePids = state.nodes.map((n) => n.pid).filter((p): p is number => typeof p === 'number');
    if (nodePids.length !== o.nodes) throw new Error(`cluster.json names ${nodePids.length} node process(es), expected ${o.nodes}`);

    // Registration keeps up with the ramp: each shard registers its slice in well under the ramp.
    const rampSeconds = durationMs(o.rampUp) / 1000;
    const perShard = Math.ceil(o.tentacles / o.shards);
    const ratePerSecond = Math.max(5, Math.ceil((perShard / Math.max(1, rampSeconds)) * 1.5));
    const raw = {
      name: 'bench-sharded-hold',
      target: 'external',
      external: {
        nodes: state.nodes.map((n) => ({ name: n.name, polling: `${n.pollingHost}:${n.pollingPort}`, api: n.apiUrl })),
        thumbprint: state.serverThumbprint,
        apiUrl: state.nodes[0]!.apiUrl,
        space: state.spaceId,
        apiKeyEnv: API_KEY_ENV,
        allowLoad: true,
        register: { environment: 'Test', ratePerSecond, ledger: join(tmp, 'ledger.json') },
      },
      fleet: { tentacles: o.tentacles, rampUp: o.rampUp, registrationConcurrency: 32, workers: o.workers },
      duration: o.duration,
    };
    scenarioFromObject(raw, 'bench'); // refuse a bad scenario here, not in N children
    const scenarioFile = join(tmp, 'scenario.json');
    writeFileSync(scenarioFile, JSON.stringify(raw, null, 2) + '\n', { mode: 0o600 });

    const sample = (): Sample => ({
      at: Date.now(),
      shards: shards.map((s) => (s.child.pid === undefined ? null : rssOf(s.child.pid))),
      nodes: nodePids.reduce((a, p) => a + (rssOf(p) ?? 0), 0),
    });
    const nodesRss0 = sample().nodes; // nodes up, nothing connected yet
    const samples: Sample[] = [];
    for (let i = 1; i <= o.shards; i++) {
      shards.push(startCli(`shard ${i}/${o.shards}`, ['run', scenarioFile, '--shard', `${i}/${o.shards}`, '--json', '-o', join(tmp, 'shards', `shard-${i}`)], { [API_KEY_ENV]: state.apiKey }));
    }
    const t0 = Date.now();
    let nextLog = t0 + 10_000;
    sampler = setInterval(() => {
      const s = sample();
      samples.push(s);
      if (s.at >= nextLog) {
        nextLog += 10_000;
        const sec = Math.round((s.at - t0) / 1000);
        o.log(`${sec}s shards RSS ${s.shards.map(mib).join(' + ')} MiB, nodes RSS ${mib(s.nodes)} MiB`);
      }
    }, SAMPLE_MS);

    const bound = durationMs(o.rampUp) + durationMs(o.duration) + SHARD_SLACK_MS;
    const resultFile = (i: number) => join(tmp, 'shards', `shard-${i + 1}`, 'result.json');
    // A shard that fails stops the bench at once (the clean-up stops the others).
    for (;;) {
      const failed = shards.findIndex((s, i) => !isAlive(s.child) && !existsSync(resultFile(i)));
      if (failed >= 0) throw new Error(`${shards[failed]!.name} exited (${shards[failed]!.child.exitCode}) without a result.json: ${shards[failed]!.stderrTail()}`);
      if (!shards.some((s) => isAlive(s.child))) break;
      if (Date.now() > t0 + bound) throw new Error(`the shards did not finish within ${Math.round(bound / 1000)} s`);
      await sleep(1_000);
    }
    clearInterval(sampler);

    const results = shards.map((s, i) => {
      const file = resultFile(i);
      const r = readResultFile(file);
      if (isComparison(r)) throw new Error(`${file}: a comparison, expected one run's result`);
      return r;
    });
    const merged = mergeResults(results);

    // Per shard: baseline = its last sample before its run started; peak = its highest until it began stopping.
    let fleetDelta = 0;
    results.forEach((r, i) => {
      const start = Date.parse(r.startedAt);
      const until = heldUntil(r);
      const mine = samples.map((s) => ({ at: s.at, rss: s.shards[i] ?? null })).filter((s): s is { at: number; rss: number } => s.rss !== null);
      const before = mine.filter((s) => s.at <= start);
      const base = (before.length ? before[before.length - 1]! : mine[0])?.rss ?? 0;
      const peak = mine.filter((s) => s.at > start && s.at <= until).reduce((m, s) => Math.max(m, s.rss), base);
      fleetDelta += peak - base;
      o.log(`shard ${i + 1}/${o.shards}: RSS ${mib(base)} MiB before its run, ${mib(peak)} MiB at its peak while held`);
    });
    const nodesUntil = Math.min(...results.map(heldUntil));
    const peakNodes = samples.filter((s) => s.at <= nodesUntil).reduce((m, s) => Math.max(m, s.nodes), nodesRss0);
    o.log(`nodes: RSS ${mib(nodesRss0)} MiB before the shards started, ${mib(peakNodes)} MiB at their peak while held`);

    const held = merged.nodes.reduce((a, n) => a + (n.connectedTentacles ?? 0), 0);
    const per = (bytes: number) => Math.round(bytes / 1024 / Math.max(1, held));
    const ramping = merged.timeline.filter((p) => p.phase === 'ramping');
    const worst = (pick: (r: Result) => number | null | undefined) => {
      const v = results.map(pick).filter((x): x is number => typeof x === 'number');
      return v.length ? Math.max(...v) : null;
    };
    return {
      workers: fleetWorkerCount(o.workers, perShard),
      connectionsHeld: held,
      coverageFinal: merged.summary.coverage.final,
      expired: merged.summary.requests?.expired ?? null,
      handshakesPerSec: Math.round(ramping.reduce((a, p) => a + p.handshakes, 0) / Math.max(1, ramping.length)),
      peakHandshakes: merged.timeline.reduce((m, p) => Math.max(m, p.handshakes), 0),
      fleetKiBPerConnection: per(fleetDelta),
      nodeKiBPerConnection: per(peakNodes - nodesRss0),
      loopDelayP99Ms: worst((r) => r.harness?.fleet.steadyLoopDelayMs?.p99),
      wholeRunLoopDelayP99Ms: worst((r) => r.harness?.fleet.loopDelayMs.p99),
      pickupP99Ms: merged.summary.pickupMs?.p99 ?? null,
      errors: merged.summary.errors,
    };
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
