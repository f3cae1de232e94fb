import { now } from '../core/clock.js';
import { PollfleetError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import { Fleet } from '../fleet/fleet.js';
import { createFleetIdentities } from '../fleet/identity-pool.js';
import { Recorder, type Phase } from '../metrics/recorder.js';
import { buildResult } from '../metrics/result-builder.js';
import { HarnessMonitor, harnessResult, withWorkerLoops } from '../metrics/harness-monitor.js';
import type { ApiLoadResult, MeasuredResult, TimelinePoint } from '../result/result.js';
import { METRICS_DEFAULTS } from '../scenario/defaults.js';
import type { Scenario } from '../scenario/resolve.js';
import type { ServerEntry } from '../tentacle/server-entry.js';
import { planScenario, type Plan } from '../plan/plan.js';
import { PLAN_SOURCES } from '../environment/plan-sources.js';
import { EmbeddedEnvironment } from '../environment/embedded/embedded-environment.js';
import { ExternalEnvironment } from '../environment/external/external-environment.js';
import type { Environment, RunWork } from '../environment/environment.js';
import { FaultRun } from '../faults/fault-run.js';
import { runApiLoad } from './api-load.js';
import { redactScenario } from './redact.js';
import { checkOpenFiles } from './open-files.js';

export interface RunProgress {
  elapsedMs: number;
  totalMs: number;
  phase: Phase;
  point: TimelinePoint;
  connectedPairs: number;
  pairs: number;
  started: number;
  tentacles: number;
}

export interface RunDeps {
  /** Run folder (balancer configs, logs). */
  workDir: string;
  toolVersion: string;
  /** Aborted on Ctrl-C: the run stops early and the Result says it was interrupted. */
  signal?: AbortSignal;
  progress?: (p: RunProgress) => void;
  log?: (line: string) => void;
  /** Extra event subscribers (trace writers, tests). */
  onEvent?: EventSink;
}

/** Wait `ms`, or less when `signal` aborts first. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Resolves when `signal` aborts (never without one). */
function aborted(signal?: AbortSignal): Promise<void> {
  return new Promise((r) => {
    if (signal?.aborted) return r();
    signal?.addEventListener('abort', () => r(), { once: true });
  });
}

/**
 * Entries of tentacle t, honouring `fleet.overrides` (a tentacle that polls only some
 * nodes): the entries that reach one of the override's nodes. Without an override, the
 * very array every tentacle shares (fault analysis maps entries by identity).
 */
export function entriesForTentacle(plan: Pick<Plan, 'overrides' | 'nodes'>, entries: ServerEntry[], entryNodes: number[]): (t: number) => ServerEntry[] {
  const nodeNames = plan.nodes.map((n) => n.name);
  return (t) => {
    const o = plan.overrides.find((x) => t >= x.from && t <= x.to);
    if (!o) return entries;
    return entries.filter((_, i) => o.nodes.includes(nodeNames[entryNodes[i] ?? -1] ?? ''));
  };
}

/**
 * The one run loop, for the embedded cluster and external targets alike:
 * plan -> environment -> fleet -> events -> recorder -> MeasuredResult. Always cleans up
 * (stops what it started; deletes the synthetic machines of an external run); Ctrl-C gives
 * a partial Result marked interrupted. It only measures: verdict/judge.ts judges the Result.
 */
export async function runScenario(s: Scenario, deps: RunDeps): Promise<MeasuredResult> {
  const log = deps.log ?? (() => undefined);
  const plan = planScenario(s, PLAN_SOURCES);
  const nodeNames = plan.nodes.map((n) => n.name);
  const N = nodeNames.length;
  const T = plan.fleet.tentacles;
  checkOpenFiles(T * plan.entries.length * plan.fleet.connectionsPerEntry);
  let entriesFor: ((t: number) => ServerEntry[]) | null = null;
  const recorder = new Recorder(
    {
      tentacles: T,
      nodeNames,
      pairSource: plan.pairSource,
      // Tentacle-side pairs (external): entry e of tentacle t reaches the node of that entry.
      entryNode: (t, entry) => (plan.pairSource === 'tentacle' && entriesFor ? nodeNames.indexOf(entriesFor(t)[entry]?.name ?? '') : -1),
      queueGroups: plan.queueGroups,
      stalenessMs: s.stalenessMs,
    },
    now(),
  );
  const faultRun = new FaultRun(s, log);
  // Work queued through the environment (external.healthChecks) watches the fleet's events too.
  let work: RunWork | null = null;
  const sink = recorder.sinkWith(faultRun.sinkWith((e) => {
    work?.observe(e);
    deps.onEvent?.(e);
  }));
  const env: Environment =
    plan.target === 'external'
      ? new ExternalEnvironment(s, { sink, log, ...(deps.signal ? { signal: deps.signal } : {}) })
      : new EmbeddedEnvironment(s, { workDir: deps.workDir, sink, log, wrapNodes: (nodes) => faultRun.wrapNodes(nodes) });

  const startedAt = now();
  let phase: Phase = 'ramping';
  let apiLoad: ApiLoadResult | null = null;
  let fleet: Fleet | null = null;
  let sampler: NodeJS.Timeout | null = null;
  const totalMs = plan.fleet.rampUpMs + plan.durationMs;
  // The fleet process's own loop delay and CPU, from the fleet's start to the end of the run.
  const harness = new HarnessMonitor();
  let fleetFailure: PollfleetError | null = null;

  try {
    const info = await env.start();
    if (deps.signal?.aborted) throw new Error('aborted');
    let identities = info.identities;
    if (!identities) {
      log(`creating ${T} tentacle identities`);
      identities = await createFleetIdentities(T, s.fleet.keyPairs);
    }
    identities.forEach((id, t) => recorder.mapSubscription(id.subscriptionId, t));
    entriesFor = entriesForTentacle(plan, info.entries, info.entryNodes);
    fleet = new Fleet({ scenario: s, identities, entriesFor, sink, register: info.register });
    if (info.faultTargets) {
      faultRun.attach({ cluster: info.faultTargets.cluster, env: info.faultTargets.route, recorder, entriesFor, nodeNames, runStartedAt: startedAt });
      await faultRun.prepare(info.faultTargets.cluster);
    }

    let steadyFrom = Infinity;
    // The loop delay while the fleet is held is measured from here (harness steadyLoopDelayMs).
    const holding = () => {
      phase = 'steady';
      harness.markSteady();
      fleet?.markSteady();
    };
    sampler = setInterval(() => {
      const at = now();
      if (phase === 'ramping' && at >= steadyFrom) holding();
      phase = faultRun.phase(phase, recorder.timeline);
      const point = recorder.sample(at, phase);
      deps.progress?.({
        elapsedMs: at - startedAt,
        totalMs,
        phase,
        point,
        connectedPairs: Math.round(point.coverage * T * N),
        pairs: T * N,
        started: fleet?.started ?? 0,
        tentacles: T,
      });
    }, METRICS_DEFAULTS.timelineIntervalMs);

    log(`ramping up ${T} tentacles over ${plan.fleet.rampUpMs} ms`);
    harness.start();
    const ramp = fleet.start();
    ramp.catch(() => undefined);
    await Promise.race([ramp, aborted(deps.signal)]);
    // Settle: the last tentacles get one handshake's worth of time before steady state counts (plan.settleMs).
    steadyFrom = now() + plan.settleMs;
    if (plan.settleMs === 0) holding();
    faultRun.start(steadyFrom);
    work = info.work ?? null;
    work?.start();
    // A fleet worker thread that fails ends the run with its internal error (never a hang).
    await Promise.race([sleep(plan.durationMs, deps.signal), fleet.failed]);
    if (s.apiLoad && info.web && !deps.signal?.aborted) {
      log(`driving the REST API at ${info.web.url}${s.apiLoad.path} with ${s.apiLoad.connections} connections for ${s.apiLoad.durationMs} ms`);
      apiLoad = await runApiLoad(info.web.url, info.web.apiKey, s.apiLoad);
    }
  } catch (e) {
    // After Ctrl-C a failure is part of stopping: the partial Result still comes.
    if (!deps.signal?.aborted) {
      await cleanup();
      throw e;
    }
  }
  const interrupted = !!deps.signal?.aborted;
  const finalAt = now();
  recorder.sample(finalAt, phase);
  recorder.markFinal(finalAt);
  const fleetHealth = harness.stop();
  // Fleet worker threads (fleet.workers > 1) measure their own loops; asked at the same moment.
  const workerHealth = fleet ? await fleet.workerHealth().catch(() => []) : [];
  phase = 'stopping';
  // Before the fleet stops: the tasks' last states are read while their machines still exist.
  const workResult = work ? await work.stop().then(() => work!.result(), () => null) : null;
  await cleanup();
  if (fleetFailure && !interrupted) throw fleetFailure;

  const finishedAt = now();
  const measured = buildResult(recorder, {
    name: s.name,
    route: s.route.kind,
    queue: plan.queue,
    target: plan.target,
    balancer: env.balancer,
    scenario: redactScenario(s),
    shortened: s.shortened,
    toolVersion: deps.toolVersion,
    startedAt,
    finishedAt,
    finalAt,
    interrupted,
    nodes: env.nodes,
    // Node-side figures (queues, pickup latency) only exist where the nodes are ours; never invented.
    nodeSideMeasured: plan.target === 'embedded',
    pickupLimitMs: s.protocol.pollingRequestQueueTimeoutMs,
  });
  measured.faults = faultRun.results(recorder.timeline);
  if (fleetHealth) measured.harness = harnessResult(withWorkerLoops(fleetHealth, workerHealth), null, workerHealth);
  if (s.shard) measured.shard = { ...s.shard };
  if (workResult) measured.healthChecks = workResult;
  return plan.target === 'embedded' ? { ...measured, apiLoad } : measured;

  /** Faults first (cancel what is not due), then the fleet (END on every connection), then the environment. */
  async function cleanup(): Promise<void> {
    if (sampler) clearInterval(sampler);
    sampler = null;
    harness.stop();
    await faultRun.stop().catch(() => undefined);
    // A fleet worker thread that failed is an internal error of the run, also when it shows only at stop.
    await fleet?.stop().catch((e: unknown) => {
      if (e instanceof PollfleetError && e.kind === 'internal') fleetFailure ??= e;
    });
    fleet = null;
    await env.stop().catch(() => undefined);
  }
}
