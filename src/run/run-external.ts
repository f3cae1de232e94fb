import { now } from '../core/clock.js';
import { PollfleetError } from '../core/errors.js';
import { Fleet } from '../fleet/fleet.js';
import { createFleetIdentities, fixedIdentity, type FleetIdentity } from '../fleet/identity-pool.js';
import { requireApiKey } from '../environment/external/api-key.js';
import { checkExternalSafety } from '../environment/external/safety.js';
import { SyntheticRegistrar } from '../environment/external/synthetic-registrar.js';
import { Recorder, type Phase } from '../metrics/recorder.js';
import { buildResult } from '../metrics/result-builder.js';
import { loadPem, loadPfx, CertificateLoadError } from '../pki/load.js';
import type { MeasuredResult } from '../result/result.js';
import { METRICS_DEFAULTS } from '../scenario/defaults.js';
import type { Scenario } from '../scenario/resolve.js';
import { pollingAddress, serverEntry, type ServerEntry } from '../tentacle/server-entry.js';
import { redactScenario } from './redact.js';
import type { RunDeps } from './run-scenario.js';

function loadIdentity(s: Scenario) {
  const id = s.external!.identity;
  if (!id.pfx && !id.cert) {
    throw new PollfleetError('input.invalid', 'external.identity: give the tentacle identity: cert + key (PEM) or pfx -- its thumbprint must be trusted by the cluster', {
      hint: 'or let pollfleet register synthetic machines for the run: external.register: { environment: <name> } (with apiUrl and apiKeyEnv)',
    });
  }
  try {
    if (id.pfx) return loadPfx(id.pfx, id.passphraseEnv ? (process.env[id.passphraseEnv] ?? '') : '');
    return loadPem(id.cert!, id.key ?? id.cert!);
  } catch (e) {
    if (e instanceof CertificateLoadError) throw new PollfleetError('input.invalid', `tentacle identity: ${e.message}`);
    throw e;
  }
}

/**
 * A run against real nodes: the fleet polls the listed addresses with the given identity
 * (already trusted by the cluster). Only what the tentacle side sees is measured; node-side
 * figures (queues, pickup latency) are marked unavailable, never invented.
 */
export async function runExternal(s: Scenario, deps: RunDeps): Promise<MeasuredResult> {
  const ext = s.external!;
  // Safety rails and inputs first: nothing is opened before they pass.
  checkExternalSafety(s);
  let registrar: SyntheticRegistrar | null = null;
  let identities: FleetIdentity[];
  if (ext.register) {
    const key = requireApiKey(ext, 'external.register');
    for (const w of key.warnings) deps.log?.(`warning: ${w}`);
    identities = await createFleetIdentities(s.fleet.tentacles, s.fleet.keyPairs);
  } else {
    identities = [fixedIdentity(loadIdentity(s), ext.subscriptionId ?? undefined)];
  }
  const identity = identities[0]!;
  const nodeNames = ext.nodes.map((n) => n.name);
  const entries: ServerEntry[] = ext.nodes.map((n) => serverEntry(pollingAddress(n), n.thumbprint!, n.name));
  const entriesFor = (t: number): ServerEntry[] => {
    const o = s.fleet.overrides.find((x) => t >= x.from && t <= x.to);
    return o ? entries.filter((e) => o.nodes.includes(e.name!)) : entries;
  };
  const recorder = new Recorder(
    {
      tentacles: s.fleet.tentacles,
      nodeNames,
      pairSource: 'tentacle',
      entryNode: (t, entry) => nodeNames.indexOf(entriesFor(t)[entry]?.name ?? ''),
      queueGroups: nodeNames.map((_, i) => [i]),
      stalenessMs: s.stalenessMs,
    },
    now(),
  );
  const sink = recorder.sinkWith(deps.onEvent);
  const startedAt = now();
  let phase: Phase = 'ramping';
  if (ext.register) {
    const first = ext.nodes[0]!;
    registrar = new SyntheticRegistrar({
      apiUrl: ext.apiUrl!,
      apiKey: requireApiKey(ext, 'external.register').key,
      space: ext.space,
      spec: ext.register,
      // register-with checks the TCP polling port with POST /handshake; a wss:// entry has none.
      ...(entries[0]!.transport === 'websocket' ? {} : { pollingPort: { host: first.host, port: first.port } }),
      apiTlsVerify: ext.apiTlsVerify,
      concurrency: s.fleet.registrationConcurrency,
      sink,
      ...(deps.log ? { log: deps.log } : {}),
    });
  }
  const reg = registrar;
  const fleet = new Fleet({ scenario: s, identities, entriesFor, register: reg ? (t, id) => reg.register(t, id) : null, sink });
  const sampler = setInterval(() => {
    const at = now();
    const point = recorder.sample(at, phase);
    deps.progress?.({
      elapsedMs: at - startedAt, totalMs: s.fleet.rampUpMs + s.durationMs, phase, point,
      connectedPairs: Math.round(point.coverage * s.fleet.tentacles * nodeNames.length),
      pairs: s.fleet.tentacles * nodeNames.length, started: fleet.started, tentacles: s.fleet.tentacles,
    });
  }, METRICS_DEFAULTS.timelineIntervalMs);
  deps.log?.(`polling ${entries.length} external node${entries.length === 1 ? '' : 's'} with ${s.fleet.tentacles} tentacle(s)${reg ? `, registering ${s.fleet.tentacles} synthetic machine(s) (run ${reg.runId}, ledger ${reg.ledger.file})` : `, subscription ${identity.subscriptionId}`}`);
  const onAbort = () => reg?.cleanup();
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (reg) await reg.removeLeftovers();
    const ramp = fleet.start();
    ramp.catch(() => undefined);
    await Promise.race([ramp, new Promise((r) => deps.signal?.addEventListener('abort', r, { once: true }))]);
    phase = 'steady';
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, s.durationMs);
      deps.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  } finally {
    const finalAt = now();
    recorder.sample(finalAt, phase);
    recorder.markFinal(finalAt);
    clearInterval(sampler);
    deps.signal?.removeEventListener('abort', onAbort);
    await fleet.stop();
    if (reg) {
      // Always, also after Ctrl-C or an error: delete exactly the machines of this run.
      const out = await reg.cleanup();
      deps.log?.(`clean-up: ${out.deleted.length} synthetic machine(s) deleted${out.alreadyGone.length ? `, ${out.alreadyGone.length} already gone` : ''}`);
      if (out.failed.length) {
        deps.log?.(`clean-up: ${out.failed.length} machine(s) could not be deleted (kept in ${reg.ledger.file}; run pollfleet cleanup --ledger ${reg.ledger.file}): ${out.failed.map((f) => `${f.name}: ${f.message}`).join('; ')}`);
      }
    }
  }
  const finishedAt = now();
  const measured = buildResult(recorder, {
    name: s.name, route: 'direct', queue: 'per-node', target: 'external', balancer: null,
    scenario: redactScenario(s), shortened: s.shortened, toolVersion: deps.toolVersion,
    startedAt, finishedAt, finalAt: recorder.final!.at, interrupted: !!deps.signal?.aborted,
    nodes: ext.nodes.map((n) => ({ name: n.name, address: n.address, apiUrl: n.apiUrl })),
    nodeSideMeasured: false,
  });
  return measured;
}
