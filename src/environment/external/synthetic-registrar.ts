import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, type Dispatcher } from 'undici';
import { now } from '../../core/clock.js';
import { PollfleetError } from '../../core/errors.js';
import type { EventSink, RegistrationEvent } from '../../core/events.js';
import type { FleetIdentity } from '../../fleet/identity-pool.js';
import type { SyntheticRegistration } from '../../scenario/resolve.js';
import type { PollingPortCheck } from '../../octopus-api/polling-port-check.js';
import { registerTentacle, type RegistrationResult } from '../../tentacle/registration.js';
import { OctopusClient } from '../../octopus-api/octopus-client.js';
import { scrubSecret } from '../../octopus-api/scrub-secret.js';
import { SYNTHETIC_REGISTRATION_DEFAULTS } from '../../scenario/defaults.js';
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
  /** Tries after a lost answer (SYNTHETIC_REGISTRATION_DEFAULTS.lostAnswerRetries) and the wait before each. */
  lostAnswerRetries?: number;
  lostAnswerRetryDelayMs?: number;
}

/**
 * Transport codes of a request whose answer never came (undici's "other side closed", a
 * reset, a header or body timeout): the server may or may not have acted on it. A refused
 * connection or a DNS failure is not one (the request never left).
 */
const LOST_ANSWER_CODES = new Set([
  'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT',
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT',
]);

/**
 * Did a registration fail because an answer was lost (no HTTP status, a broken or timed-out
 * connection)? Not for an HTTP answer, "already exists", a bad key, or the run stopping.
 */
export function isLostAnswer(e: unknown): boolean {
  if (!(e instanceof PollfleetError) || e.status !== undefined || e.kind !== 'registration.failed') return false;
  let c: unknown = e.cause;
  for (let depth = 0; depth < 5 && c !== null && typeof c === 'object'; depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && LOST_ANSWER_CODES.has(code)) return true;
    c = (c as { cause?: unknown }).cause;
  }
  return false;
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
  /** Registrations tried again after a lost answer, and machines adopted by such a retry (the server had created them). */
  lostAnswerRetries = 0;
  adopted = 0;

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
    const retries = o.lostAnswerRetries ?? SYNTHETIC_REGISTRATION_DEFAULTS.lostAnswerRetries;
    const delayMs = o.lostAnswerRetryDelayMs ?? SYNTHETIC_REGISTRATION_DEFAULTS.lostAnswerRetryDelayMs;
    const t0 = now();
    // Attempts whose answer was lost: after one, the server may hold a machine of this name.
    let lost = 0;
    let retried = 0;
    const throttle = { throttled: 0, throttledWaitMs: 0 };
    for (;;) {
      // One 'registration' event per tentacle: an attempt's event is held until it is known
      // not to be tried again; the one sent covers every attempt (time, 429s, retries).
      const held: { ev: RegistrationEvent | null } = { ev: null };
      const sink: EventSink = (ev) => {
        if (ev.type !== 'registration') return o.sink(ev);
        throttle.throttled += ev.throttled ?? 0;
        throttle.throttledWaitMs += ev.throttledWaitMs ?? 0;
        const merged: RegistrationEvent = { ...ev, durationMs: now() - t0 };
        delete merged.throttled;
        delete merged.throttledWaitMs;
        if (throttle.throttled) Object.assign(merged, throttle);
        held.ev = merged;
      };
      const call = this.#attempt(t, id, name, lost > 0, sink);
      this.#inflight.add(call);
      try {
        const r = await call;
        this.ledger.setCreated(name, o.apiUrl, r.machineId, r.spaceId);
        this.machines.set(t, { machineId: r.machineId, spaceId: r.spaceId });
        this.created++;
        if (held.ev) o.sink({ ...held.ev, ...(retried ? { lostAnswerRetries: retried } : {}), ...(r.adopted ? { adopted: true } : {}) });
        if (r.adopted) {
          this.adopted++;
          o.log?.(`registration of ${name}: the server had created it (${r.machineId}, this tentacle's thumbprint); adopted, not posted again`);
        }
        return;
      } catch (e) {
        const lostNow = isLostAnswer(e);
        // An HTTP answer other than success means nothing was created -- unless an earlier
        // attempt's answer was lost: then (as after any lost answer) the pending entry stays
        // for clean-up, which finds the machine by name and thumbprint.
        if (!lostNow && lost === 0 && e instanceof PollfleetError && e.status !== undefined) this.ledger.remove(name, o.apiUrl);
        if (lostNow) lost++;
        const retry = lostNow && lost <= retries && !this.#cleanup && !this.#stopping.signal.aborted && name.includes(this.runId);
        if (retry) {
          o.log?.(`registration of ${name}: no answer (${scrubSecret((e as Error).message, o.apiKey)}); trying again in ${delayMs} ms (retry ${lost} of ${retries}), looking the name up first`);
          // The retry keeps to the run's registration rate; clean-up ends the wait.
          const waited = await sleep(delayMs, undefined, { signal: this.#stopping.signal })
            .then(() => this.#limiter.acquire())
            .then(() => true, () => false);
          if (waited && !this.#cleanup) {
            retried++;
            this.lostAnswerRetries++;
            continue;
          }
        }
        let err = e;
        if (lostNow && lost > 1 && e instanceof PollfleetError) {
          // Every try lost its answer: say so (the kind, data and cause stay the last try's).
          err = new PollfleetError(e.kind, `${e.message} (no answer in ${lost} tries)`, { ...e.data, ...(e.hint ? { hint: e.hint } : {}), cause: e });
        }
        if (held.ev) o.sink({ ...held.ev, message: (err as Error).message, ...(retried ? { lostAnswerRetries: retried } : {}) });
        throw err;
      } finally {
        this.#inflight.delete(call);
      }
    }
  }

  /** One registration attempt; `adopt`: a machine of this name with this thumbprint is taken as ours (a retry after a lost answer). */
  #attempt(t: number, id: FleetIdentity, name: string, adopt: boolean, sink: EventSink): Promise<RegistrationResult> {
    const o = this.#o;
    return registerTentacle({
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
      ...(adopt ? { adopt: true } : {}),
      communicationStyle: o.communicationStyle,
      signal: this.#stopping.signal,
      events: { sink, tentacle: t },
    });
  }

  /** Stop registering and delete every machine of this run. Idempotent. */
  cleanup(): Promise<CleanupOutcome> {
    this.#cleanup ??= (async () => {
      this.#limiter.stop();
      this.#stopping.abort(new PollfleetError('internal', 'the run is stopping'));
      // A registration still in flight may yet create its machine: let it settle (each
      // request is bounded by its timeout) so the machine is deleted by id, not missed.
      await Promise.allSettled([...this.#inflight]);
      if (this.lostAnswerRetries) {
        this.#o.log?.(`registration: ${this.lostAnswerRetries} lost answer(s) tried again, ${this.adopted} machine(s) the server had created adopted`);
      }
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
