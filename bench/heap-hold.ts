/**
 * Heap and RSS per idle connection: hold N tentacles x 3 nodes on the embedded cluster, then
 * collect garbage and compare with the figures before the fleet started. Optional heap snapshot.
 *   node --expose-gc --import tsx bench/heap-hold.ts [tentacles=300] [snapshot-file]
 */
import os from 'node:os';
import v8 from 'node:v8';
import { scenarioFromObject } from '../src/scenario/loader.js';
import { runScenario } from '../src/run/run-scenario.js';
const N = Number(process.argv[2] ?? 300);
const snap = process.argv[3] ?? '';
const gc = (globalThis as { gc?: () => void }).gc!;
const s = scenarioFromObject({ name: 'heap', route: { kind: 'direct' }, cluster: { nodes: 3, pollingPort: 0 }, fleet: { tentacles: N, rampUp: '5s', registrationConcurrency: 32 }, workload: { interval: '5m', scriptShare: 0.1 }, duration: '20s' }, 'heap');
let base: NodeJS.MemoryUsage | null = null; let done = false;
const r = await runScenario(s, { workDir: os.tmpdir(), toolVersion: 'heap', progress: (p) => {
  if (!base) { gc(); base = process.memoryUsage(); }
  if (p.phase === 'steady' && !done && p.elapsedMs > 15000 && p.point.coverage === 1) {
    done = true; gc(); gc(); const m = process.memoryUsage(); const c = 3 * N;
    const k = (a: number, b: number) => ((a - b) / 1024 / c).toFixed(1);
    console.log(`conns ${c}: heapUsed ${k(m.heapUsed, base.heapUsed)} KiB/conn, external ${k(m.external, base.external)}, arrayBuffers ${k(m.arrayBuffers, base.arrayBuffers)}, rss ${k(m.rss, base.rss)}`);
    if (snap) console.log('snapshot', v8.writeHeapSnapshot(snap));
  }
} });
console.log('coverage', r.summary.coverage.final);
