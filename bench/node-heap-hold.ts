/**
 * Heap and RSS per idle held polling connection in the embedded cluster's node processes (the
 * node side of bench/heap-hold.ts): hold N tentacles on an embedded cluster, let it settle, and
 * compare each node's figures after a forced GC with its own idle baseline (no connection).
 * The node processes sample themselves (POLLFLEET_PROCESS_STATS_DIR, src/cluster/node-process.ts)
 * and run with --expose-gc (collected before each sample). With a snapshot directory, one
 * node writes a heap snapshot there while it holds the fleet (--heapsnapshot-signal).
 *   node --import tsx bench/node-heap-hold.ts [tentacles=300] [nodes=2] [snapshot-dir|-] [--dist]
 * --dist: run the compiled build (`npm run build` first), so the node processes run plain
 * JavaScript as the installed CLI does, not TypeScript through tsx (whose keepNames gives every
 * function made at run time its own property store, ~250 bytes per closure).
 *
 * Measured on the shared 2-core machine (other work running; load average given), KiB per held
 * connection, per node (min-max over the nodes): heapUsed and RSS over the node's idle baseline
 * after a GC, and the heapUsed slope over the ramp (warm-up left out). "before" is 3bf68a4.
 *
 * | build, tentacles x nodes, load      | version | heapUsed  | heap slope | RSS       |
 * |-------------------------------------|---------|-----------|------------|-----------|
 * | compiled, 500 x 2, load 2.2-2.5     | before  | 12.8-13.3 | 10.2-10.4  | 55.6-58.5 |
 * |                                     | after   | 10.6-11.0 | 8.0-8.1    | 53.1-59.3 |
 * | compiled, 500 x 2, load 2.1-5.5     | before  | 12.9-13.4 | 10.3-10.4  | 57.4-59.5 |
 * |                                     | after   | 10.5-11.0 | 7.9-8.0    | 47.8-59.5 |
 * | compiled, 500 x 2, load 2.2-2.5,    | before  | 12.8-13.4 | 10.0-10.5  | 60.0-60.3 |
 * |  malloc mmap threshold 16 KiB and   | after   | 10.1-10.6 | 6.6-7.5    | 54.9-55.2 |
 * |  a 1 MiB semi-space (see below)     |         |           |            |           |
 * | tsx (as `npm run bench`), 300 x 2,  | before  | 17.0-18.8 | 14.1-14.3  | 70.4-78.2 |
 * |  load 9-11                          | after   | 11.7-12.4 | 9.3-9.5    | 70.0-84.1 |
 *
 * Step by step (tsx, 300 x 2): before 17.9-18.0 heapUsed; session hooks as methods, shared
 * options and listeners 14.3-14.8; one wait timer and one abort listener per signal in the
 * local queue 12.6-12.8; a callback instead of a suspended frame per waiting connection and
 * one-slot waiter lists 11.7-12.4. Heap snapshots of one node (idle vs 300 held, retained
 * size summed): 21.1 KiB per connection before, 15.0 after (compiled), of which 4.9 is
 * compiled code (warm-up, not per connection) and ~3.5 the TLS socket objects a bare
 * node:tls server keeps too.
 *
 * RSS is dominated by native memory (50-75 KiB per connection with glibc's defaults) and is
 * noisy on a loaded machine (+-6 KiB between the two nodes of one run). Run with
 * GLIBC_TUNABLES=glibc.malloc.mmap_threshold=16384:glibc.malloc.trim_threshold=65536 and
 * NODE_OPTIONS=--max-semi-space-size=1, native memory per connection falls to 45-47 KiB:
 * the rest was malloc fragmentation from OpenSSL's per-record 16 KiB buffers and a grown
 * young generation, neither a per-connection cost of pollfleet's.
 *
 * The raw node:tls mutual-TLS server socket (bench/raw-tls-server.ts) costs 45-49 KiB RSS.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { ProcessStats } from '../src/cluster/node-process.js';
import type * as Run from '../src/run/run-scenario.js';
import type * as Loader from '../src/scenario/loader.js';

const args = process.argv.slice(2).filter((a) => a !== '--dist');
const dist = process.argv.includes('--dist');
const from = dist ? '../dist' : '../src';
const ext = dist ? 'js' : 'ts';
const { runScenario } = (await import(`${from}/run/run-scenario.${ext}`)) as typeof Run;
const { scenarioFromObject } = (await import(`${from}/scenario/loader.${ext}`)) as typeof Loader;
const N = Number(args[0] ?? 300);
const nodes = Number(args[1] ?? 2);
const snapDir = args[2] && args[2] !== '-' ? args[2] : '';
const statsDir = mkdtempSync(join(os.tmpdir(), 'node-heap-hold-'));
process.env['POLLFLEET_PROCESS_STATS_DIR'] = statsDir;
process.env['POLLFLEET_PROCESS_STATS_MS'] = '1000';
const extra = ['--expose-gc'];
if (snapDir) {
  mkdirSync(snapDir, { recursive: true });
  extra.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapDir}`);
}
process.env['NODE_OPTIONS'] = [process.env['NODE_OPTIONS'] ?? '', ...extra].join(' ').trim();

const read = (): ProcessStats[] =>
  readdirSync(statsDir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => {
      try {
        return [JSON.parse(readFileSync(join(statsDir, f), 'utf8')) as ProcessStats];
      } catch {
        return [];
      }
    });

const base = new Map<string, ProcessStats>();
/**
 * Each node's samples from a quarter of the fleet on: the least-squares slope over them leaves
 * out the constant costs of warming up (compiled code, caches, a grown young generation).
 */
const ramp = new Map<string, Map<number, ProcessStats>>();
function slope(samples: ProcessStats[], y: (s: ProcessStats) => number): number {
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.connections, 0) / n;
  const my = samples.reduce((a, s) => a + y(s), 0) / n;
  const sxy = samples.reduce((a, s) => a + (s.connections - mx) * (y(s) - my), 0);
  const sxx = samples.reduce((a, s) => a + (s.connections - mx) ** 2, 0);
  return sxx > 0 ? sxy / sxx / 1024 : NaN;
}
// The idle baseline: each node's last sample before its first connection.
// With a snapshot directory, the first node also writes an idle snapshot (to diff with the held one).
let idleSnapped = false;
const watch = setInterval(() => {
  for (const st of read()) {
    if (st.afterGc && st.connections >= N / 4) {
      const m = ramp.get(st.node) ?? new Map<number, ProcessStats>();
      ramp.set(st.node, m.set(st.at, st));
    }
    if (st.connections !== 0 || !st.afterGc) continue;
    base.set(st.node, st);
    if (snapDir && !idleSnapped && st.node === 'node1') {
      idleSnapped = true;
      process.kill(st.pid, 'SIGUSR2');
    }
  }
}, 100);
const s = scenarioFromObject(
  {
    name: 'node-heap', route: { kind: 'direct' }, cluster: { nodes, pollingPort: 0 },
    fleet: { tentacles: N, rampUp: '8s', registrationConcurrency: 16 },
    workload: { interval: '5m', scriptShare: 0.1 }, duration: '25s',
  },
  'node-heap',
);
let done = false;
let snapped = false;
const r = await runScenario(s, {
  workDir: os.tmpdir(),
  toolVersion: 'node-heap',
  progress: (p) => {
    if (done || p.phase !== 'steady' || p.elapsedMs < 18_000 || p.point.coverage !== 1) return;
    const now = read().filter((st) => st.connections >= N && Date.now() - st.at < 2000);
    if (now.length < nodes) return;
    done = true;
    for (const st of now) {
      const b = base.get(st.node);
      if (!b) {
        console.log(`${st.node}: no idle baseline was sampled`);
        continue;
      }
      const k = (a: number, z: number) => ((a - z) / 1024 / st.connections).toFixed(1);
      console.log(
        `${st.node} conns ${st.connections}: heapUsed ${k(st.heapUsed, b.heapUsed)} KiB/conn, external ${k(st.external, b.external)}, ` +
          `arrayBuffers ${k(st.arrayBuffers, b.arrayBuffers)}, rss ${k(st.rss, b.rss)} (idle rss ${(b.rss / 1048576).toFixed(1)} MiB)`,
      );
      console.log(`${st.node}   native (rss - heapTotal) ${k(st.rss - st.heapTotal, b.rss - b.heapTotal)} KiB/conn, heapTotal ${k(st.heapTotal, b.heapTotal)}`);
      const samples = [...(ramp.get(st.node)?.values() ?? [])];
      if (samples.length >= 3) {
        const f = (g: (s: ProcessStats) => number) => slope(samples, g).toFixed(1);
        console.log(
          `${st.node}   slope over ${samples.length} samples (${samples[0]!.connections}-${st.connections} conns): heapUsed ${f((s) => s.heapUsed)} KiB/conn, ` +
            `rss ${f((s) => s.rss)}, native ${f((s) => s.rss - s.heapTotal)}`,
        );
      }
    }
    if (snapDir && !snapped) {
      snapped = true;
      process.kill(now[0]!.pid, 'SIGUSR2');
      console.log(`snapshot of ${now[0]!.node} requested into ${snapDir}`);
    }
  },
});
clearInterval(watch);
console.log(dist ? 'compiled build' : 'sources through tsx', 'coverage', r.summary.coverage.final, 'load average', os.loadavg().map((x) => x.toFixed(2)).join(' '));
