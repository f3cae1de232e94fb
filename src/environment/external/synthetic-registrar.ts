import { randomBytes } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import { PollfleetError } from '../../core/errors.js';
import type { EventSink } from '../../core/events.js';
import type { FleetIdentity } from '../../fleet/identity-pool.js';
import type { SyntheticRegistration } from '../../scenario/resolve.js';
import type { PollingPortCheck } from '../../octopus-api/polling-port-check.js';
import { registerTentacle } from '../../tentacle/registration.js';
import { OctopusClient } from '../../octopus-api/octopus-client.js';
import { Ledger } from './ledger.js';
import { deleteLedgerEntries, isProcessGone, type CleanupOutcome } from './machine-cleanup.js';
import { RateLimiter } from './rate-limiter.js';

export interface SyntheticRegistrarOptions {
  apiUrl: string;
  /** A secret: passed to the REST client only. */
  apiKey: string;
  space: string | null;
  spec: SyntheticRegistration;
  /** Check the polling port first, as register-with does. */
  pollingPort?: PollingPortCheck;
  /** false: accept a self-signed REST API certificate (test clusters only). */
  apiTlsVerify?: boolean;
  concurrency: number;
  sink: EventSink;
  log?: (line: string) => void;
  timeoutMs?: number;
  /** Registration's HTTP client (a ProxyAgent for route kind proxy); closed by the registrar at the end. Default: its own Agent. */
  dispatcher?: Dispatcher;
  /** KubernetesTentacle for fleet.profile kubernetes-agent; TentacleActive (default) otherwise. */
  communicationStyle?: 'TentacleActive' | 'KubernetesTentacle';
}

/**
 * Synthetic polling machines for a run against a real cluster: each tentacle registers
 * through the REST API (the register-with flow, rate-limited), every machine is in the
 * ledger before it is used, and `cleanup()` deletes exactly the machines of this run.
 */
export class SyntheticRegistrar {
  /** The machines this run created, by tentacle index (what health-check tasks name). */
  readonly machines = new Map<number, { machineId: string; spaceId: string }>();
  readonly runId = randomBytes(4).toString('hex');
  readonly ledger: Ledger;
  readonly #o: SyntheticRegistrarOptions;
  readonly #limiter: RateLimiter;
  readonly #dispatcher: Dispatcher;
  readonly #pollingDispatcher = new Agent({ connect: { rejectUnauthorized: false }, pipelining: 0 });
  #cleanup: Promise<CleanupOutcome> | null = null;
  /** Aborted at clean-up: a registration waiting out HTTP 429s (or a port-check retry) stops waiting. */
  readonly #stopping = new AbortController();
  #inflight = new Set<Promise<unknown>>();
  created = 0;

  constructor(o: SyntheticRegistrarOptions) {
    this.#o = o;
    this.ledger = new Ledger(o.spec.ledgerFile);
    this.#limiter = new RateLimiter(o.spec.ratePerSecond);
    this.#dispatcher = o.dispatcher ?? new Agent({ connections: o.concurrency, ...(o.apiTlsVerify === false ? { connect: { rejectUnauthorized: false } } : {}) });
  }

  /** A REST client for this run's own calls (health-check tasks for its machines); the key stays inside. */
  client(): OctopusClient {
    return new OctopusClient({ apiUrl: this.#o.apiUrl, apiKey: this.#o.apiKey, dispatcher: this.#dispatcher, ...(this.#o.timeoutMs ? { timeoutMs: this.#o.timeoutMs } : {}) });
  }

  nameOf(t: number): string {
    return `${this.#o.spec.namePrefix}${this.runId}-${String(t + 1).padStart(4, '0')}`;
  }

  /** Delete what runs that died left behind on this cluster (entries of processes that are gone). */
  async removeLeftovers(): Promise<CleanupOutcome | null> {
    const stale = this.ledger.entries().filter((e) => e.apiUrl === this.#o.apiUrl && isProcessGone(e.pid));
    if (stale.length === 0) return null;
    this.#o.log?.(`the ledger ${this.ledger.file} lists ${stale.length} machine(s) left by an earlier run that stopped early; deleting them first`);
    return deleteLedgerEntries(this.ledger, stale, { apiKey: this.#o.apiKey, dispatcher: this.#dispatcher, log: this.#o.log, ...(this.#o.timeoutMs ? { timeoutMs: this.#o.timeoutMs } : {}) });
  }

  /** Register tentacle t (the Fleet's register hook). Rejects when it could not. */
  async register(t: number, id: FleetIdentity): Promise<void> {
    if (this.#cleanup) throw new PollfleetError('internal', 'the run is stopping');
    await this.#limiter.acquire();
    if (this.#cleanup) throw new PollfleetError('internal', 'the run is stopping');
    const o = this.#o;
    const name = this.nameOf(t);
    this.ledger.addPending({ name, space: o.space, apiUrl: o.apiUrl, thumbprint: id.identity.thumbprint, runId: this.runId });
    const call = registerTentacle({
      apiUrl: o.apiUrl,
      apiKey: o.apiKey,
      ...(o.space ? { space: o.space } : {}),
      name,
      environments: [o.spec.environment],
      roles: o.spec.roles,
      thumbprint: id.identity.thumbprint,
      subscriptionId: id.subscriptionId,
      ...(o.spec.machinePolicyId ? { machinePolicyId: o.spec.machinePolicyId } : {}),
      ...(o.pollingPort ? { pollingPort: o.pollingPort } : {}),
      dispatcher: this.#dispatcher,
      pollingDispatcher: this.#pollingDispatcher,
      ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
      force: o.spec.force,
      communicationStyle: this.#o.communicationStyle,
      signal: this.#stopping.signal,
      events: { sink: o.sink, tentacle: t },
    });
    this.#inflight.add(call);
    try {
      const r = await call;
      this.ledger.setCreated(name, o.apiUrl, r.machineId, r.spaceId);
      this.machines.set(t, { machineId: r.machineId, spaceId: r.spaceId });
      this.created++;
    } catch (e) {
      // An HTTP answer other than success means nothing was created; a lost answer may
      // hide a created machine, so its pending entry stays for clean-up (found by name).
      if (e instanceof PollfleetError && e.status !== undefined) this.ledger.remove(name, o.apiUrl);
      throw e;
    } finally {
      this.#inflight.delete(call);
    }
  }

  /** Stop registering and delete every machine of this run. Idempotent. */
  cleanup(): Promise<CleanupOutcome> {
    this.#cleanup ??= (async () => {
      this.#limiter.stop();
      this.#stopping.abort(new PollfleetError('internal', 'the run is stopping'));
      // A registration still in flight may yet create its machine: let it settle (each
      // request is bounded by its timeout) so the machine is deleted by id, not missed.
      await Promise.allSettled([...this.#inflight]);
      const mine = this.ledger.entries().filter((e) => e.runId === this.runId && e.apiUrl === this.#o.apiUrl);
      const out = mine.length
        ? await deleteLedgerEntries(this.ledger, mine, { apiKey: this.#o.apiKey, dispatcher: this.#dispatcher, ...(this.#o.timeoutMs ? { timeoutMs: this.#o.timeoutMs } : {}) })
        : { deleted: [], alreadyGone: [], failed: [] };
      await this.#dispatcher.close().catch(() => undefined);
      await this.#pollingDispatcher.close().catch(() => undefined);
      return out;
    })();
    return this.#cleanup;
  }
}
