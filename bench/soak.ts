/**
 * Soak: hold a fleet on the embedded cluster for a long time with a realistic workload and a
 * fault every few minutes, sample every process, and report whether anything drifts.
 *   npm run soak -- --minutes 60 --tentacles 2000 [--json FILE]
 *   npm run soak -- --minutes 2 --tentacles 30 --sample 5s --fault-every 20s --short-timers   (CI size)
 *
 * Workload: the real idle cadence (pollingQueueWait 30 s: a null message per connection every
 * 30 s), one probe per tentacle per node every `--work-every` (default 3m; a fifth of them a
 * script sequence), real timeouts and back-off (`--short-timers` uses the shortened values of
 * the sample scenarios, for CI). Faults cycle through reset, crash (30 s) + return, latency
 * (200 ms for 1 m) and drain (1 m), one every `--fault-every` (default 5m), none in the last
 * interval so the run ends settled.
 *
 * Each sample (`--sample`, default 1m, a "minute" below): RSS, heap used, active handles and
 * event-loop delay of the fleet process (this one) and of every node process (which write their
 * figures when POLLFLEET_PROCESS_STATS_DIR is set: src/cluster/node-process.ts), and the pickup
 * latencies of the requests dispatched in the sample.
 *
 * Slopes (the verdict; exit 1 when one fails):
 *   memory flat   RSS growth between the sample at 1/6 of the run (minute 10 of 60; at least
 *                 one sample after the steady phase began) and the end under --max-growth
 *                 (5 %), each process, comparing the median of the samples at minutes 10-14
 *                 and 56-60 (timers and buffers in flight move single samples by a few %);
 *   no handle leak handles at the end at most --max-handle-growth (5 %) over the same point;
 *   no drift      pickup p99 of the last sixth (last 10 minutes) at most --max-pickup-ratio (2x)
 *                 the sixth after the warm-up sample, or within --pickup-slack-ms (250 ms) of it.
 * A node the faults crashed restarts as a new process: its memory is compared from its restart.
 *
 * Memory is RSS with glibc's perturb byte (SOAK_GLIBC_TUNABLES in bench/malloc-settings.ts; every
 * process of the soak inherits it, and a GLIBC_TUNABLES already set wins): malloc writes every
 * block it hands out, so RSS counts allocations, not when their pages were first written. Without
 * it a node's RSS climbs in shrinking steps at each reset storm with no allocation growing (the
 * measurements are in that file), and "memory flat" would judge page residency, not leaks.
 *
 * The raw baseline (`--no-raw-baseline` leaves it out): a bare `node:tls` server holding as many
 * mutual-TLS connections as node1 holds, reset whenever node1 is reset, its clients reconnecting
 * at once (bench/raw-storm.ts); sampled each minute and summarised over the same window, shown
 * beside node1 and never judged. Node's own TLS server under the same storms is the yardstick for
 * what a node's RSS does that is not pollfleet's.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeFileAtomic } from '../src/core/atomic-write.js';
import { DurationHistogram } from '../src/result/histogram.js';
import { parseDuration } from '../src/scenario/duration.js';
import { benchArgs, durationArg, numberArg } from './cli-args.js';
import { scenarioFromObject } from '../src/scenario/loader.js';
import { runScenario } from '../src/run/run-scenario.js';
import { interruptSignal } from '../src/cli/interrupt.js';
import { SOAK_GLIBC_TUNABLES, rerunWithMallocSettings } from './malloc-settings.js';
import { startRawStormPair, type RawStormSample } from './raw-storm.js';

rerunWithMallocSettings(SOAK_GLIBC_TUNABLES);

interface Sample {
  minute: number;
  elapsedMs: number;
  phase: string;
  coverage: number;
  rss: number;
  heapUsed: number;
  /** V8's committed heap, C++ objects bound to JS, and Buffer memory: where RSS growth lives when heapUsed is flat. */
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  handles: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  pickups: number;
  pickupP99Ms: number | null;
}
interface NodeSample {
  minute: number;
  pid: number;
  rss: number;
  heapUsed: number;
  /** As the fleet's: where a node's RSS growth lives when heapUsed is flat (RSS minus heapTotal is native memory). */
  heapTotal: number;
  external: number;
  /** Polling connections the node held (TLS up) when sampled. */
  connections: number;
  handles: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

const USAGE = `Usage: npm run soak -- [options]

Hold a fleet on the embedded cluster with the realistic workload and a fault every few minutes;
sample every process each minute and judge the slopes (exit 0 flat, 1 a slope failed, 2 bad input).

Options:
  --minutes N             run length (default 60)
  --tentacles N           fleet size (default 2000)
  --nodes N               embedded nodes, at least 3 (default 3)
  --ramp-up D             ramp-up (default tentacles/25 seconds, 5s..120s)
  --sample D              sample interval, "a minute" in the slopes (default 1m)
  --fault-every D         one fault (reset, crash, latency, drain in turn) this often (default 5m)
  --work-every D          one probe per tentacle per node this often (default 3m)
  --short-timers          the sample scenarios' shortened timeouts (CI size runs)
  --json FILE             write every sample and the slopes as JSON
  --max-growth F          memory flat: RSS growth bound per process (default 0.05)
  --max-handle-growth F   no handle leak: handle growth bound (default 0.05)
  --max-pickup-ratio F    no drift: last-sixth pickup p99 at most F x the first (default 2)
  --pickup-slack-ms N     ... or within N ms of it (default 250)
  --no-raw-baseline       leave out the bare node:tls server beside node1
  -h, --help              this text

Memory is RSS with glibc's perturb byte (malloc writes every block it hands out), so RSS counts
allocations from the start instead of climbing as the pages of old allocations are first
written; a GLIBC_TUNABLES you set wins (e.g. GLIBC_TUNABLES= for glibc's defaults).

Example: npm run soak -- --minutes 60 --tentacles 2000 --json soak.json`;

const values = benchArgs('soak', USAGE, {
  minutes: { type: 'string', default: '60' },
  tentacles: { type: 'string', default: '2000' },
  nodes: { type: 'string', default: '3' },
  sample: { type: 'string', default: '1m' },
  'fault-every': { type: 'string', default: '5m' },
  'work-every': { type: 'string', default: '3m' },
  'ramp-up': { type: 'string' },
  'short-timers': { type: 'boolean', default: false },
  json: { type: 'string' },
  'max-growth': { type: 'string', default: '0.05' },
  'max-handle-growth': { type: 'string', default: '0.05' },
  'max-pickup-ratio': { type: 'string', default: '2' },
  'pickup-slack-ms': { type: 'string', default: '250' },
  'no-raw-baseline': { type: 'boolean', default: false },
});
const num = (name: string, v: string | undefined, min: number, integer = false) => numberArg('soak', USAGE, name, v, min, integer);
const dur = (name: string, v: string | undefined) => durationArg('soak', USAGE, name, v);

const minutes = num('minutes', values.minutes, 0.1);
const tentacles = num('tentacles', values.tentacles, 1, true);
const nodeCount = num('nodes', values.nodes, 3, true);
const sampleMs = dur('sample', values.sample);
const faultEveryMs = dur('fault-every', values['fault-every']);
const workEveryMs = dur('work-every', values['work-every']);
const maxGrowth = num('max-growth', values['max-growth'], 0);
const maxHandleGrowth = num('max-handle-growth', values['max-handle-growth'], 0);
const maxPickupRatio = num('max-pickup-ratio', values['max-pickup-ratio'], 1);
const pickupSlackMs = num('pickup-slack-ms', values['pickup-slack-ms'], 0);
if (values['ramp-up'] !== undefined) dur('ramp-up', values['ramp-up']);
const totalMs = minutes * 60_000;
const rampUp = values['ramp-up'] ?? `${Math.max(5, Math.min(120, Math.ceil(tentacles / 25)))}s`;
const short = values['short-timers'];

/** One fault every `faultEveryMs`, cycling through the kinds; none in the last interval. */
function faultPlan(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const faultFor = (ms: number) => `${Math.max(1, Math.round(Math.min(ms, faultEveryMs / 2) / 1000))}s`;
  const cycle = [
    (at: string) => ({ at, action: 'reset', target: 'node1' }),
    (at: string) => ({ at, action: 'crash', target: 'node2', for: faultFor(30_000) }),
    (at: string) => ({ at, action: 'latency', target: 'node3', latencyMs: 200, for: faultFor(60_000) }),
    (at: string) => ({ at, action: 'drain', target: 'node1', for: faultFor(60_000) }),
  ];
  for (let i = 0, at = faultEveryMs; at + faultEveryMs <= totalMs; i++, at += faultEveryMs) out.push(cycle[i % cycle.length]!(`${Math.round(at / 1000)}s`));
  return out;
}

const faults = faultPlan();
const scenario = scenarioFromObject({
  name: 'soak',
  description: `soak: ${tentacles} tentacles x ${nodeCount} nodes for ${minutes} min, a fault every ${values['fault-every']}`,
  route: { kind: 'direct' },
  cluster: { nodes: nodeCount, pollingPort: 0 },
  fleet: { tentacles, rampUp, registrationConcurrency: 32 },
  workload: { interval: `${Math.round(workEveryMs / 1000)}s`, scriptShare: 0.2 },
  ...(short
    ? {
        timeouts: { pollingQueueWait: '5s', pollingRequestQueueTimeout: '20s', receiveRequestTimeout: '20s' },
        backoff: { min: '1s', max: '5s' },
      }
    : {}),
  duration: `${Math.round(totalMs / 1000)}s`,
  faults,
});

// The raw baseline (bench/raw-storm.ts): a bare node:tls server holding as many connections as
// node1, reset when node1 is reset. Sampled beside the nodes; shown, never judged.
const resetsAtMs = faults.filter((f) => f['action'] === 'reset' && f['target'] === 'node1').map((f) => parseDuration(f['at'] as string)!);
const raw = values['no-raw-baseline'] ? null : await startRawStormPair(tentacles);
const rawSamples: (RawStormSample & { minute: number })[] = [];
let rawLatest: RawStormSample | null = null;
let rawResets = 0;
const rawResetTimers: NodeJS.Timeout[] = [];
const rawPoll = raw ? setInterval(() => void raw.sample().then((x) => (rawLatest = x), () => undefined), Math.max(500, sampleMs / 2)) : null;

const statsDir = mkdtempSync(join(os.tmpdir(), 'pollfleet-soak-'));
process.env['POLLFLEET_PROCESS_STATS_DIR'] = statsDir;
process.env['POLLFLEET_PROCESS_STATS_MS'] = String(Math.max(500, Math.min(sampleMs / 2, 10_000)));

const samples: Sample[] = [];
const nodeSamples: Record<string, NodeSample[]> = {};
// Pickup latencies: one HDR histogram for the sample being taken, kept per sample only encoded
// (a few KiB each). The soak runs in the fleet's process, so what it keeps is counted in the
// fleet's memory: every pickup kept as an object (~7,000 a minute at 2,000 tentacles) grew the
// fleet's heap by tens of MiB over an hour and made its memory check judge the soak itself.
const pickups = new DurationHistogram();
const pickupsBySample: { minute: number; encoded: string | null }[] = [];
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
const lag = (ns: number) => Math.max(0, ns / 1e6 - 10);
const startedAt = Date.now();
let lastProgress = { phase: 'registering', coverage: 0 };

function round1(x: number | null): number | null {
  return x === null ? null : Math.round(x * 10) / 10;
}

function takeSample(): void {
  const minute = samples.length + 1;
  const m = process.memoryUsage();
  const s: Sample = {
    minute,
    elapsedMs: Date.now() - startedAt,
    phase: lastProgress.phase,
    coverage: lastProgress.coverage,
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    handles: process.getActiveResourcesInfo().length,
    loopDelayP99Ms: loop.count ? Math.round(lag(loop.percentile(99)) * 10) / 10 : 0,
    loopDelayMaxMs: loop.count ? Math.round(lag(loop.max) * 10) / 10 : 0,
    pickups: pickups.count,
    pickupP99Ms: pickups.count ? round1(pickups.quantiles().p99) : null,
  };
  loop.reset();
  pickupsBySample.push({ minute, encoded: pickups.encode() });
  pickups.h.reset();
  samples.push(s);
  const nodeLine: string[] = [];
  for (const f of readdirSync(statsDir)) {
    if (!f.endsWith('.json')) continue;
    try {
      const st = JSON.parse(readFileSync(join(statsDir, f), 'utf8')) as NodeSample & { node: string; at: number };
      if (Date.now() - st.at > sampleMs * 2) continue; // a crashed node's last figures
      const { pid, rss, heapUsed, heapTotal, external, connections, handles } = st;
      (nodeSamples[st.node] ??= []).push({ minute, pid, rss, heapUsed, heapTotal, external, connections, handles, loopDelayP99Ms: Math.round(st.loopDelayP99Ms * 10) / 10, loopDelayMaxMs: Math.round(st.loopDelayMaxMs * 10) / 10 });
      nodeLine.push(`${st.node} ${mib(rss)} MiB (heap ${mib(heapTotal)} ext ${mib(external)}) c${connections} h${handles} d${st.loopDelayP99Ms.toFixed(0)}`);
    } catch {
      /* being replaced */
    }
  }
  if (rawLatest) rawSamples.push({ minute, ...rawLatest });
  const rawLine = rawLatest ? `; raw ${mib(rawLatest.rss)} MiB (heap ${mib(rawLatest.heapTotal)}) c${rawLatest.sockets}` : '';
  console.error(`[${minute}] ${s.phase} coverage ${(s.coverage * 100).toFixed(1)}% fleet rss ${mib(s.rss)} MiB heap ${mib(s.heapUsed)}/${mib(s.heapTotal)} MiB ext ${mib(s.external)} MiB handles ${s.handles} loop p99 ${s.loopDelayP99Ms} ms; pickups ${s.pickups} p99 ${s.pickupP99Ms ?? '-'} ms; ${nodeLine.sort().join(', ')}${rawLine}`);
}

function mib(b: number): string {
  return Number.isFinite(b) ? (b / 2 ** 20).toFixed(1) : '-';
}
function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : 'too few samples';
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

// Ctrl-C (or SIGTERM) stops the run: the samples so far are summarised, judged where there are
// enough of them, and written (--json) -- an hour's figures are not lost to a keypress.
const interrupt = interruptSignal((sig) => console.error(`\nsoak: ${sig}: stopping; the samples so far are summarised and written (again to quit at once)`));
const timer = setInterval(takeSample, sampleMs);
const result = await runScenario(scenario, {
  workDir: os.tmpdir(),
  toolVersion: 'soak',
  signal: interrupt.signal,
  progress: (p) => {
    lastProgress = { phase: p.phase, coverage: p.point.coverage };
    // Faults count from the start of the steady phase: the raw server's resets are timed from the first sample of it (within a second).
    if (raw && rawResetTimers.length === 0 && resetsAtMs.length && p.phase !== 'registering' && p.phase !== 'ramping') {
      for (const at of resetsAtMs) rawResetTimers.push(setTimeout(() => (raw.reset(), rawResets++), at));
    }
  },
  onEvent: (e) => {
    if (e.type === 'request-dispatched') pickups.recordMs(Math.max(0, e.at - e.enqueuedAt));
  },
});
interrupt.dispose();
clearInterval(timer);
for (const x of rawResetTimers) clearTimeout(x);
if (rawPoll) clearInterval(rawPoll);
raw?.stop();
rmSync(statsDir, { recursive: true, force: true });

// The checks. Warm-up: the sample at 1/6 of the run (minute 10 of 60), after ramp-up.
const n = samples.length;
const steadyFrom = Math.max(1, samples.findIndex((x) => x.phase !== 'registering' && x.phase !== 'ramping') + 1);
const sixth = Math.max(1, Math.round(n / 6));
const warm = Math.min(n, Math.max(sixth, steadyFrom + 1));
/** Samples whose median stands for each end (handles and RSS move with the timers in flight): 5 of 60. */
const ends = Math.max(3, Math.round(sixth / 2));
const checks: { what: string; value: number; limit: number; pass: boolean }[] = [];
function growth(what: string, xs: number[], limit: number, judged = true): { from: number; to: number; growth: number } | null {
  if (xs.length < warm + ends) return null;
  const from = median(xs.slice(warm - 1, warm - 1 + ends));
  const to = median(xs.slice(-ends));
  const g = (to - from) / from;
  if (judged) checks.push({ what, value: Math.round(g * 1000) / 1000, limit, pass: g <= limit });
  return { from, to, growth: g };
}
/**
 * Least-squares slope of `ys` (one value per sample), in units per hour: a leak climbs at a
 * steady rate, a process still filling to its working size levels off -- the slope of the second
 * half tells the two apart where the end-to-end growth alone cannot. Informative; not a check.
 */
function slopePerHour(ys: number[]): number {
  const k = ys.length;
  if (k < 2) return NaN;
  const mx = (k - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / k;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    num += (i - mx) * (y - my);
    den += (i - mx) ** 2;
  });
  return (num / den) * (3_600_000 / sampleMs);
}
const processes: Record<string, { rssAtWarm: number; rssAtEnd: number; rssGrowth: number; rssSlopeMiBPerHour: number; rssSlopeSecondHalfMiBPerHour: number; handlesAtWarm: number; handlesAtEnd: number; heapAtWarm: number; heapAtEnd: number; loopDelayP99MaxMs: number; restarts: number }> = {};
function summarise(name: string, xs: { rss: number; heapUsed: number; handles: number; loopDelayP99Ms: number; pid?: number }[]): void {
  // Compare within the last process of a node that was restarted (a crash fault).
  const lastPid = xs.at(-1)?.pid;
  const restarts = new Set(xs.map((x) => x.pid)).size - 1;
  const same = lastPid === undefined ? xs : xs.filter((x) => x.pid === lastPid);
  const window = same.length >= warm + ends ? same : xs;
  const rss = growth(`${name} rss growth`, window.map((x) => x.rss), maxGrowth);
  const handles = growth(`${name} handle growth`, window.map((x) => x.handles), maxHandleGrowth);
  const measured = window.slice(warm - 1).map((x) => x.rss / 2 ** 20);
  const heap = window.length >= warm + ends ? { from: median(window.slice(warm - 1, warm - 1 + ends).map((x) => x.heapUsed)), to: median(window.slice(-ends).map((x) => x.heapUsed)) } : null;
  processes[name] = {
    rssAtWarm: rss?.from ?? NaN,
    rssAtEnd: rss?.to ?? NaN,
    rssGrowth: rss ? Math.round(rss.growth * 1000) / 1000 : NaN,
    rssSlopeMiBPerHour: Math.round(slopePerHour(measured) * 10) / 10,
    rssSlopeSecondHalfMiBPerHour: Math.round(slopePerHour(measured.slice(Math.floor(measured.length / 2))) * 10) / 10,
    handlesAtWarm: handles?.from ?? NaN,
    handlesAtEnd: handles?.to ?? NaN,
    heapAtWarm: heap?.from ?? NaN,
    heapAtEnd: heap?.to ?? NaN,
    loopDelayP99MaxMs: Math.max(0, ...xs.map((x) => x.loopDelayP99Ms)),
    restarts: Math.max(0, restarts),
  };
}
summarise('fleet', samples);
for (const [name, xs] of Object.entries(nodeSamples).sort()) summarise(name, xs);

// The raw baseline over the same window as the nodes, not judged (Node's own TLS server is not pollfleet).
const rawGrowth = rawSamples.length ? growth('raw rss growth', rawSamples.map((x) => x.rss), maxGrowth, false) : null;
const baseline = raw
  ? {
      what: `a bare node:tls server holding ${tentacles} mutual-TLS connections (as node1), every one reset when node1 is reset; its clients reconnect at once, 100 handshakes in flight`,
      resets: rawResets,
      rssAtWarm: rawGrowth?.from ?? NaN,
      rssAtEnd: rawGrowth?.to ?? NaN,
      rssGrowth: rawGrowth ? Math.round(rawGrowth.growth * 1000) / 1000 : NaN,
      socketsAtEnd: rawSamples.at(-1)?.sockets ?? 0,
      samples: rawSamples,
    }
  : null;

function pickupWindow(from: number, to: number): { count: number; p99: number | null } {
  const h = new DurationHistogram();
  for (const x of pickupsBySample) if (x.minute >= from && x.minute <= to && x.encoded) h.merge(new DurationHistogram(x.encoded));
  return { count: h.count, p99: h.count ? h.quantiles().p99 : null };
}
const firstWindow = pickupWindow(warm + 1, warm + sixth);
const lastWindow = pickupWindow(n - sixth + 1, n);
const pickupFirstP99 = round1(firstWindow.p99);
const pickupLastP99 = round1(lastWindow.p99);
if (pickupFirstP99 !== null && pickupLastP99 !== null) {
  const limit = Math.max(pickupFirstP99 * maxPickupRatio, pickupFirstP99 + pickupSlackMs);
  checks.push({ what: 'pickup p99 last vs first window (ms)', value: pickupLastP99, limit, pass: pickupLastP99 <= limit });
} else {
  checks.push({ what: 'pickups in the first and last window', value: Math.min(firstWindow.count, lastWindow.count), limit: 1, pass: false });
}
const pass = checks.every((c) => c.pass);

/** glibc writes every block it hands out (SOAK_GLIBC_TUNABLES): RSS counts allocations. Another libc (musl) ignores the variable. */
const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime !== undefined;
const perturbed = glibc && /glibc\.malloc\.perturb=[1-9]/.test(process.env['GLIBC_TUNABLES'] ?? '');
const figures = {
  conditions: {
    machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    glibcTunables: process.env['GLIBC_TUNABLES'] ?? null,
    rssCounts: perturbed ? 'allocated bytes' : 'pages written',
    minutes,
    tentacles,
    nodes: nodeCount,
    sampleMs,
    faultEveryMs,
    workEveryMs,
    shortTimers: short,
    faults,
  },
  windows: { warmSample: warm, samples: n, firstPickupWindow: [warm + 1, warm + sixth], lastPickupWindow: [n - sixth + 1, n] },
  processes,
  baseline,
  pickup: { firstWindowP99Ms: pickupFirstP99, lastWindowP99Ms: pickupLastP99, firstWindowCount: firstWindow.count, lastWindowCount: lastWindow.count },
  run: {
    coverageFinal: result.summary.coverage.final,
    coverageMin: result.summary.coverage.min,
    pickupP99Ms: result.summary.pickupMs?.p99 ?? null,
    expired: result.summary.requests?.expired ?? null,
    errors: result.summary.errors,
    interrupted: result.interrupted,
    faults: result.faults.map((f) => ({ name: f.name, action: f.action, target: f.target, atMs: f.atMs })),
  },
  checks,
  pass,
  samples,
  nodeSamples,
};
if (values.json) writeFileAtomic(values.json, JSON.stringify(figures, null, 2) + '\n');

console.log(`soak: ${tentacles} tentacles x ${nodeCount} nodes, ${minutes} min, ${n} samples of ${sampleMs / 1000} s, ${faults.length} faults; ${figures.conditions.machine}; GLIBC_TUNABLES ${figures.conditions.glibcTunables ?? 'unset (glibc defaults)'}${perturbed ? ' (RSS counts every allocated byte)' : ' (no perturb byte: RSS counts only pages written to, and steps up at reset storms with no allocation growing)'}`);
for (const [name, p] of Object.entries(processes)) {
  console.log(`  ${name.padEnd(6)} rss ${mib(p.rssAtWarm)} -> ${mib(p.rssAtEnd)} MiB (${pct(p.rssGrowth)}; trend ${p.rssSlopeMiBPerHour} MiB/h, second half ${p.rssSlopeSecondHalfMiBPerHour} MiB/h), heap ${mib(p.heapAtWarm)} -> ${mib(p.heapAtEnd)} MiB, handles ${p.handlesAtWarm} -> ${p.handlesAtEnd}, loop delay p99 max ${p.loopDelayP99MaxMs} ms${p.restarts ? `, ${p.restarts} restart(s)` : ''}`);
}
if (baseline) {
  console.log(`  raw    rss ${mib(baseline.rssAtWarm)} -> ${mib(baseline.rssAtEnd)} MiB (${pct(baseline.rssGrowth)}), ${baseline.resets} reset(s), ${baseline.socketsAtEnd} held at the end -- not judged: ${baseline.what}`);
}
console.log(`  pickup p99 first window ${pickupFirstP99 ?? '-'} ms (${firstWindow.count}), last window ${pickupLastP99 ?? '-'} ms (${lastWindow.count})`);
console.log(`  coverage final ${result.summary.coverage.final}, expired ${result.summary.requests?.expired ?? '-'}, errors ${JSON.stringify(result.summary.errors)}`);
for (const c of checks) console.log(`  ${c.pass ? 'ok  ' : 'FAIL'} ${c.what}: ${c.value} (limit ${Math.round(c.limit * 1000) / 1000})`);
if (result.interrupted) {
  const judged = checks.length ? `; ${checks.every((c) => c.pass) ? 'the checks above passed' : 'a check above failed'} over what ran` : '; too few samples to judge';
  console.log(`soak: INTERRUPTED after ${n} sample(s)${judged}`);
  process.exit(130);
}
console.log(pass ? 'soak: PASS' : 'soak: FAIL');
process.exit(pass ? 0 : 1);
