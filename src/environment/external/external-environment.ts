import { PollfleetError } from '../../core/errors.js';
import type { EventSink } from '../../core/events.js';
import { sharedIdentity } from '../../fleet/identity-pool.js';
import { loadPem, loadPfx, CertificateLoadError } from '../../pki/load.js';
import type { Scenario } from '../../scenario/resolve.js';
import { PROTOCOL_DEFAULTS, RUN_DEFAULTS } from '../../scenario/defaults.js';
import { pollingAddress, serverEntry } from '../../tentacle/server-entry.js';
import type { Environment, EnvironmentInfo, EnvironmentNode } from '../environment.js';
import { requireApiKey } from './api-key-source.js';
import { checkExternalSafety } from './safety.js';
import { HealthCheckTasks } from './health-check-tasks.js';
import { userProxy } from '../routes/proxy.js';
import { SyntheticRegistrar } from './synthetic-registrar.js';

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

export interface ExternalEnvironmentOptions {
  sink: EventSink;
  log: (line: string) => void;
  /** Ctrl-C: synthetic machines are deleted at once, not only at stop(). */
  signal?: AbortSignal;
}

/**
 * A real cluster: the nodes listed in `external.nodes`, polled with a given identity that
 * the cluster already trusts, or with synthetic machines registered for the run (one new
 * certificate each) and deleted after it -- at stop(), on Ctrl-C and on errors. The
 * safety limits and every input are checked in start() before a socket opens. Nothing
 * here can be faulted: a real cluster is not pollfleet's to break.
 */
export class ExternalEnvironment implements Environment {
  readonly #s: Scenario;
  readonly #o: ExternalEnvironmentOptions;
  #registrar: SyntheticRegistrar | null = null;
  #onAbort: (() => void) | null = null;
  #stopping: Promise<void> | null = null;
  readonly balancer = null;
  readonly nodes: EnvironmentNode[];

  constructor(s: Scenario, o: ExternalEnvironmentOptions) {
    this.#s = s;
    this.#o = o;
    this.nodes = s.external!.nodes.map((n) => ({ name: n.name, address: n.address, apiUrl: n.apiUrl }));
  }

  async start(): Promise<EnvironmentInfo> {
    const s = this.#s;
    const ext = s.external!;
    const log = this.#o.log;
    // Safety rails and inputs first: nothing is opened before they pass.
    checkExternalSafety(s);
    let apiKey: string | null = null;
    // Without register: the given certificate, shared, but a fresh subscription per tentacle --
    // never a real machine's (scenario validation refuses an explicit one).
    const identities = ext.register ? null : sharedIdentity(loadIdentity(s), s.fleet.tentacles);
    if (ext.register) {
      const key = requireApiKey(ext, 'external.register');
      for (const w of key.warnings) log(`warning: ${w}`);
      apiKey = key.key;
    }
    // Route kind proxy: every connection through the CONNECT proxy the user runs (Tentacle.config's Octopus.Server.Proxy.*).
    const viaProxy = s.route.kind === 'proxy' ? userProxy(s, ext.apiTlsVerify, !!ext.register) : null;
    const entries = ext.nodes.map((n) => ({ ...serverEntry(pollingAddress(n), n.thumbprint!, n.name), ...(viaProxy ? { proxy: viaProxy.polling } : {}) }));
    if (viaProxy) log(`polling through the ${viaProxy.label}`);
    if (ext.register && apiKey) {
      const first = ext.nodes[0]!;
      this.#registrar = new SyntheticRegistrar({
        apiUrl: ext.apiUrl!,
        apiKey,
        space: ext.space,
        spec: ext.register,
        // register-with checks the TCP polling port with POST /handshake; a wss:// entry has none.
        ...(entries[0]!.transport === 'websocket' ? {} : { pollingPort: { host: first.host, port: first.port } }),
        apiTlsVerify: ext.apiTlsVerify,
        concurrency: s.fleet.registrationConcurrency,
        sink: this.#o.sink,
        log,
        communicationStyle: s.fleet.profile === 'kubernetes-agent' ? 'KubernetesTentacle' : 'TentacleActive',
        ...(viaProxy?.registration ? { dispatcher: viaProxy.registration } : {}),
      });
    }
    const reg = this.#registrar;
    // A real node's queue wait is not visible from here: its default (PROTOCOL_DEFAULTS) is what a run must outlast.
    const shortest = PROTOCOL_DEFAULTS.pollingQueueWaitMs + RUN_DEFAULTS.externalDurationSlackMs;
    if (s.durationMs < shortest) {
      log(
        `warning: duration ${s.durationMs / 1000} s: an idle node sends a tentacle its first message only when its polling queue wait ` +
          `(${PROTOCOL_DEFAULTS.pollingQueueWaitMs / 1000} s by default) runs out, so tentacles without work may end the run unpolled -- use --duration ${shortest / 1000}s or more`,
      );
    }
    log(`polling ${entries.length} external node${entries.length === 1 ? '' : 's'} with ${s.fleet.tentacles} tentacle(s)${reg ? `, registering ${s.fleet.tentacles} synthetic machine(s) (run ${reg.runId}, ledger ${reg.ledger.file})` : `, the given identity with a fresh subscription per tentacle`}`);
    if (reg) {
      this.#onAbort = () => void reg.cleanup();
      this.#o.signal?.addEventListener('abort', this.#onAbort, { once: true });
      await reg.removeLeftovers();
    }
    return {
      entries,
      entryNodes: entries.map((_, i) => i),
      identities,
      register: reg ? (t, id) => reg.register(t, id) : null,
      web: null,
      faultTargets: null,
      work: reg && ext.healthChecks ? new HealthCheckTasks({ client: reg.client(), everyMs: ext.healthChecks.everyMs, machines: () => reg.machines, log }) : null,
    };
  }

  /** Delete exactly the synthetic machines of this run (also after Ctrl-C or an error). Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#onAbort) this.#o.signal?.removeEventListener('abort', this.#onAbort);
      const reg = this.#registrar;
      if (!reg) return;
      const log = this.#o.log;
      const out = await reg.cleanup();
      log(`clean-up: ${out.deleted.length} synthetic machine(s) deleted${out.alreadyGone.length ? `, ${out.alreadyGone.length} already gone` : ''}`);
      if (out.failed.length) {
        log(`clean-up: ${out.failed.length} machine(s) could not be deleted (kept in ${reg.ledger.file}; run pollfleet cleanup --ledger ${reg.ledger.file}): ${out.failed.map((f) => `${f.name}: ${f.message}`).join('; ')}`);
      }
    })();
    return this.#stopping;
  }
}
