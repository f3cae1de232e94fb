/**
 * Heap and RSS per idle held polling connection in the embedded cluster's node processes (the
 * node side of bench/heap-hold.ts): hold N tentacles on an embedded cluster, let it settle, and
 * compare each node's figures after a forced GC with its own idle baseline (no connection).
 * The node processes sample themselves (POLLFLEET_PROCESS_STATS_DIR, src/cluster/node-process.ts)
 * and run with --expose-gc (collected before each sample). With a snapshot directory, one
 * node writes a heap snapshot there while it holds the fleet (--heapsnapshot-signal).
 *   node --import tsx bench/node-heap-hold.ts [tentacles=300] [nodes=2] [snapshot-dir]
 *
 * Measured on the shared 2-core machine (load average 5-9 from other work), 300 tentacles x 2
 * nodes, KiB per held connection over the node's idle baseline, per node (min-max):
 *
 * | node version                         | heapUsed | external | arrayBuffers | RSS       |
 * |--------------------------------------|----------|----------|--------------|-----------|
 * | before                               |          |          |              |           |
 *
 * The raw node:tls mutual-TLS server socket (bench/raw-tls-server.ts) costs 45-49 KiB RSS.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { ProcessStats } from '../src/cluster/node-process.js';
import { runScenario } from '../src/run/run-scenario.js';
import { scenarioFromObject } from '../src/scenario/loader.js';

const N = Number(process.argv[2] ?? 300);
const nodes = Number(process.argv[3] ?? 2);
const snapDir = process.argv[4] ?? '';
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
// The idle baseline: each node's last sample before its first connection.
// With a snapshot directory, the first node also writes an idle snapshot (to diff with the held one).
let idleSnapped = false;
const watch = setInterval(() => {
  for (const st of read()) {
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
    }
    if (snapDir && !snapped) {
      snapped = true;
      process.kill(now[0]!.pid, 'SIGUSR2');
      console.log(`snapshot of ${now[0]!.node} requested into ${snapDir}`);
    }
  },
});
clearInterval(watch);
console.log('coverage', r.summary.coverage.final, 'load average', os.loadavg().map((x) => x.toFixed(2)).join(' '));
