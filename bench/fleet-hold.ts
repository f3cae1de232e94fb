/**
 * Benchmark: hold a large fleet on the embedded cluster and report what it costs.
 * Default: 2,000 tentacles x 3 nodes (6,000 polling connections) held for 60 s.
 *   npm run bench                       (the default)
 *   npm run bench -- --tentacles 500 --duration 20s
 * Prints connections held, handshakes/s during ramp-up, RSS per connection (fleet process
 * and node processes), pickup p99, coverage and expired. Not a test: numbers, not verdicts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { scenarioFromObject } from '../src/scenario/loader.js';
import { runScenario } from '../src/run/run-scenario.js';
import { judge } from '../src/verdict/judge.js';
import { routeFor } from '../src/environment/routes/route-registry.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** RSS (bytes) of every direct child process of this one (the node processes). */
function childrenRss(): { pid: number; rss: number }[] {
  const out: { pid: number; rss: number }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, 'utf8');
      const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1]);
      if (ppid !== process.pid) continue;
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      out.push({ pid: Number(d), rss: kb * 1024 });
    } catch {
      /* gone */
    }
  }
  return out;
}

const tentacles = Number(arg('tentacles', '2000'));
const duration = arg('duration', '60s');
const rampUp = arg('ramp-up', '40s');
const s = scenarioFromObject({
  name: 'bench-fleet-hold',
  route: { kind: 'direct' },
  cluster: { nodes: 3, pollingPort: 0 },
  fleet: { tentacles, rampUp, registrationConcurrency: 32 },
  workload: { interval: '10s', scriptShare: 0.1 },
  duration,
});

let peakFleetRss = 0;
let peakNodesRss = 0;
let rampHandshakes = 0;
let rampSeconds = 0;
let peakHandshakes = 0;
const result = await runScenario(s, {
  workDir: os.tmpdir(),
  toolVersion: 'bench',
  progress: (p) => {
    peakFleetRss = Math.max(peakFleetRss, process.memoryUsage().rss);
    peakNodesRss = Math.max(peakNodesRss, childrenRss().reduce((a, c) => a + c.rss, 0));
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

const conns = result.nodes.reduce((a, n) => a + (n.connectedTentacles ?? 0), 0);
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const kib = (b: number) => (b / 1024).toFixed(0);
console.log(`machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`);
console.log(`fleet: ${tentacles} tentacles x ${result.nodes.length} nodes, ramp-up ${rampUp}, steady ${duration}`);
console.log(`connections held at the end: ${conns} of ${tentacles * result.nodes.length}`);
console.log(`handshakes/s during ramp-up: mean ${(rampHandshakes / Math.max(1, rampSeconds)).toFixed(0)}, peak ${peakHandshakes}`);
console.log(`peak RSS: fleet process ${mib(peakFleetRss)} MiB (${kib(peakFleetRss / Math.max(1, conns))} KiB per connection), node processes ${mib(peakNodesRss)} MiB (${kib(peakNodesRss / Math.max(1, conns))} KiB per connection)`);
console.log(`pickup p50 ${result.summary.pickupMs?.p50} ms, p99 ${result.summary.pickupMs?.p99} ms, max ${result.summary.pickupMs?.max} ms`);
console.log(`coverage final ${result.summary.coverage.final}, min ${result.summary.coverage.min}; expired ${result.summary.requests?.expired}; errors ${JSON.stringify(result.summary.errors)}`);
for (const [kind, example] of Object.entries(result.summary.errorExamples)) console.log(`  ${kind}: ${example}`);
const { verdict } = judge(result, s, [], { route: routeFor(s.route.kind).diagnosis });
console.log(`verdict: ${verdict.pass ? 'PASS' : 'FAIL'} ${verdict.reasons.join('; ')}`);
