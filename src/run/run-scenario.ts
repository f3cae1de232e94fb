import { Agent } from 'undici';
import { now } from '../core/clock.js';
import { PollfleetError } from '../core/errors.js';
import { newApiKey } from '../cluster/api-key.js';
import { EmbeddedCluster } from '../cluster/embedded-cluster.js';
import type { EventSink } from '../core/events.js';
import { Fleet } from '../fleet/fleet.js';
import { createFleetIdentities } from '../fleet/identity-pool.js';
import { Recorder, type Phase } from '../metrics/recorder.js';
import { buildResult } from '../metrics/result-builder.js';
import { generateCertificate, type CertificateIdentity } from '../pki/certificate.js';
import type { ApiLoadResult, MeasuredResult, TimelinePoint } from '../result/result.js';
import { CLUSTER_DEFAULTS, METRICS_DEFAULTS } from '../scenario/defaults.js';
import type { Scenario } from '../scenario/resolve.js';
import { registerTentacle } from '../tentacle/registration.js';
import type { ServerEntry } from '../tentacle/server-entry.js';
import { nodeSpecs } from '../plan/addressing.js';
import { runApiLoad } from './api-load.js';
import { createEmbeddedCluster } from '../environment/embedded/embedded-environment.js';
import { FaultRun } from '../faults/fault-run.js';
import { routeFor } from '../environment/routes/route-registry.js';
import type { RouteEnvironment } from '../environment/routes/route.js';
import { redactScenario } from './redact.js';
import { runExternal } from './run-external.js';

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

/** Entries of tentacle t, honouring `fleet.overrides` (a tentacle that polls only some nodes). */
export function entriesForTentacle(s: Scenario, env: Pick<RouteEnvironment, 'entries'>, nodeNames: string[]): (t: number) => ServerEntry[] {
  return (t) => {
    const o = s.fleet.overrides.find((x) => t >= x.from && t <= x.to);
    if (!o) return env.entries;
    return env.entries.filter((_, i) => o.nodes.includes(nodeNames[i]!));
  };
}

/**
 * Run one scenario end to end on the embedded cluster (or an external target):
 * environment -> fleet -> events -> recorder -> Result. Always cleans up; Ctrl-C gives a
 * partial Result marked interrupted. It only measures: verdict/judge.ts judges the Result.
 */
export async function runScenario(s: Scenario, deps: RunDeps): Promise<MeasuredResult> {
  if (s.target === 'external') return runExternal(s, deps);
  const log = deps.log ?? (() => undefined);
  const route = routeFor(s.route.kind);
  if (!route) throw new PollfleetError('scenario.invalid', `route ${s.route.kind} is not available in this build`);

  const specs = nodeSpecs(s);
  const nodeNames = specs.map((n) => n.name);
  const allNodes = nodeNames.map((_, i) => i);
  const recorder = new Recorder(
    {
      tentacles: s.fleet.tentacles,
      nodeNames,
      pairSource: 'node',
      entryNode: () => -1,
      queueGroups: nodeNames.map((_, i) => (s.cluster.queue === 'per-node' ? [i] : allNodes)),
      stalenessMs: s.stalenessMs,
    },
    now(),
  );
  const faultRun = new FaultRun(s, log);
  const sink = recorder.sinkWith(faultRun.sinkWith(deps.onEvent));

  const startedAt = now();
  let phase: Phase = 'ramping';
  let interrupted = false;
  let finalAt = 0;
  let cluster: EmbeddedCluster | null = null;
  let env: RouteEnvironment | null = null;
  let balancerLabel: string | null = null;
  let apiLoad: ApiLoadResult | null = null;
  let fleet: Fleet | null = null;
  let sampler: NodeJS.Timeout | null = null;
  let dispatcher: Agent | null = null;
  let pollingDispatcher: Agent | null = null;
  let nodesInfo: { name: string; address: string; apiUrl: string | null }[] = specs.map((n) => ({ name: n.name, address: `${n.polling.host}:${n.polling.port}`, apiUrl: null }));
  const totalMs = s.fleet.rampUpMs + s.durationMs;

  try {
    log(`starting ${s.cluster.nodes} nodes (${s.cluster.processes ? 'one process each' : 'in process'}), route ${s.route.kind}, queue ${s.cluster.queue}`);
    const certificate: CertificateIdentity = await generateCertificate({ commonName: 'Octopus Portal' });
    const key = newApiKey();
    cluster = createEmbeddedCluster(s, certificate, key, sink);
    const running = await cluster.start();
    nodesInfo = running.map((n) => ({ name: n.name, address: `${n.pollingHost}:${n.pollingPort}`, apiUrl: n.apiUrl }));
    env = await route.build({
      scenario: s,
      nodes: await faultRun.wrapNodes(running),
      serverThumbprint: certificate.thumbprint,
      workDir: deps.workDir,
      balancerCertificate: () => generateCertificate({ commonName: 'pollfleet balancer' }),
    });
    balancerLabel = env.balancer;
    if (deps.signal?.aborted) throw new Error('aborted');

    log(`creating ${s.fleet.tentacles} tentacle identities`);
    const identities = await createFleetIdentities(s.fleet.tentacles, s.fleet.keyPairs);
    identities.forEach((id, t) => recorder.mapSubscription(id.subscriptionId, t));
    dispatcher = new Agent({ connections: s.fleet.registrationConcurrency, connect: { rejectUnauthorized: false } });
    pollingDispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    const urls = env.registrationUrls;
    // The POST /handshake port check is for the TCP polling port; a wss:// entry has none (it is the HTTPS API).
    const firstEntry = env.entryNodes[0] !== undefined && env.entryNodes[0] >= 0 && env.entries[0]?.transport !== 'websocket' ? env.entries[0] : undefined;
    const entriesFor = entriesForTentacle(s, env, nodeNames);

    fleet = new Fleet({
      scenario: s,
      identities,
      entriesFor,
      sink,
      register: async (t, id) => {
        await registerTentacle({
          apiUrl: urls[t % urls.length]!,
          apiKey: key,
          space: CLUSTER_DEFAULTS.spaceId,
          name: `pollfleet-${String(t + 1).padStart(5, '0')}`,
          environments: ['Test'],
          roles: ['pollfleet'],
          thumbprint: id.identity.thumbprint,
          subscriptionId: id.subscriptionId,
          pollingPort: firstEntry ? { host: firstEntry.host, port: firstEntry.port } : undefined,
          dispatcher: dispatcher!,
          pollingDispatcher: pollingDispatcher!,
          events: { sink, tentacle: t },
        });
      },
    });

    faultRun.attach({ cluster, env, recorder, entriesFor, nodeNames, runStartedAt: startedAt });
    let steadyFrom = Infinity;
    sampler = setInterval(() => {
      const at = now();
      if (phase === 'ramping' && at >= steadyFrom) phase = 'steady';
      phase = faultRun.phase(phase, recorder.timeline);
      const point = recorder.sample(at, phase);
      deps.progress?.({
        elapsedMs: at - startedAt,
        totalMs,
        phase,
        point,
        connectedPairs: Math.round(point.coverage * s.fleet.tentacles * nodeNames.length),
        pairs: s.fleet.tentacles * nodeNames.length,
        started: fleet?.started ?? 0,
        tentacles: s.fleet.tentacles,
      });
    }, METRICS_DEFAULTS.timelineIntervalMs);

    log(`ramping up ${s.fleet.tentacles} tentacles over ${s.fleet.rampUpMs} ms`);
    const ramp = fleet.start();
    await Promise.race([ramp, new Promise((r) => deps.signal?.addEventListener('abort', r, { once: true }))]);
    // Settle: the last tentacles get one handshake's worth of time before steady state counts.
    steadyFrom = now() + Math.min(2_000, s.protocol.pollingQueueWaitMs);
    faultRun.start(steadyFrom);
    await sleep(s.durationMs, deps.signal);
    if (s.apiLoad && !deps.signal?.aborted) {
      const target = urls[0]!;
      log(`driving the REST API at ${target}${s.apiLoad.path} with ${s.apiLoad.connections} connections for ${s.apiLoad.durationMs} ms`);
      apiLoad = await runApiLoad(target, key, s.apiLoad);
    }
  } catch (e) {
    if (!deps.signal?.aborted) {
      await cleanup();
      throw e;
    }
  }
  interrupted = !!deps.signal?.aborted;
  finalAt = now();
  recorder.sample(finalAt, phase);
  recorder.markFinal(finalAt);
  phase = 'stopping';
  await cleanup();

  const finishedAt = now();
  const measured = buildResult(recorder, {
    name: s.name,
    route: s.route.kind,
    queue: s.cluster.queue,
    target: 'embedded',
    balancer: balancerLabel,
    scenario: redactScenario(s),
    shortened: s.shortened,
    toolVersion: deps.toolVersion,
    startedAt,
    finishedAt,
    finalAt,
    interrupted,
    nodes: nodesInfo,
    nodeSideMeasured: true,
  });
  measured.faults = faultRun.results(recorder.timeline);
  return { ...measured, apiLoad };

  async function cleanup(): Promise<void> {
    if (sampler) clearInterval(sampler);
    sampler = null;
    await faultRun.stop().catch(() => undefined);
    await fleet?.stop().catch(() => undefined);
    await env?.stop().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    await dispatcher?.close().catch(() => undefined);
    await pollingDispatcher?.close().catch(() => undefined);
    pollingDispatcher = null;
    fleet = null;
    env = null;
    cluster = null;
    dispatcher = null;
  }
}
