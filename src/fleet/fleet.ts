import type { EventSink } from '../core/events.js';
import type { Scenario } from '../scenario/resolve.js';
import type { ServerEntry } from '../tentacle/server-entry.js';
import { Tentacle } from '../tentacle/tentacle.js';
import { FLEET_DEFAULTS, HARNESS_DEFAULTS } from '../scenario/defaults.js';
import type { FleetIdentity } from './identity-pool.js';
import { fleetWorkerCount } from '../plan/worker-count.js';
import { WorkerPool } from './worker-pool.js';
import type { WorkerLoopHealth, WorkerSettings } from './worker-protocol.js';

export interface FleetOptions {
  scenario: Scenario;
  identities: FleetIdentity[];
  /** Server entries of tentacle t. */
  entriesFor(t: number): ServerEntry[];
  /** Register tentacle t before it polls (embedded runs and synthetic registration); null = already trusted. */
  register: ((t: number, id: FleetIdentity) => Promise<void>) | null;
  sink: EventSink;
}

/**
 * N tentacles, started evenly over `fleet.rampUp`, each registering first (bounded
 * concurrency) and then polling every server entry until stop().
 *
 * With `fleet.workers` above 1 the ramp and registration stay here, and each tentacle, once due
 * and registered, runs in worker thread t mod W (src/fleet/worker-pool.ts); its events reach
 * the same sink. With 1 (the default) there is no worker: the tentacles run on this thread.
 */
export class Fleet {
  /** The tentacles running on this thread (all of them without workers; none with workers). */
  readonly tentacles: Tentacle[] = [];
  /** Worker threads running the tentacles (1: none, the fleet runs on this thread); known once start() began. */
  workers = 1;
  #pool: WorkerPool | null = null;
  #o: FleetOptions;
  #nextConn = 1;
  #stopped = false;
  #timers = new Map<NodeJS.Timeout, () => void>();
  started = 0;
  registered = 0;
  registrationFailed = 0;

  constructor(o: FleetOptions) {
    this.#o = o;
  }

  get size(): number {
    return this.#o.scenario.fleet.tentacles;
  }

  /** Ramp the fleet up; resolves when every tentacle has been started (or failed to register). */
  async start(): Promise<void> {
    const s = this.#o.scenario;
    const T = s.fleet.tentacles;
    const stepMs = T > 1 ? s.fleet.rampUpMs / T : 0;
    const limit = s.fleet.registrationConcurrency;
    let active = 0;
    const queue: (() => void)[] = [];
    const acquire = () => (active < limit ? (active++, Promise.resolve()) : new Promise<void>((r) => queue.push(r)).then(() => void active++));
    const release = () => {
      active--;
      queue.shift()?.();
    };
    // What every tentacle shares, made once for the fleet rather than once per tentacle.
    const timeouts = {
      connectTimeoutMs: s.protocol.connectTimeoutMs,
      receiveRequestTimeoutMs: s.protocol.receiveRequestTimeoutMs,
      receiveTimeoutMs: s.protocol.receiveTimeoutMs,
      heartbeatTimeoutMs: s.protocol.heartbeatTimeoutMs,
      keepAliveInitialDelayMs: s.protocol.keepAliveInitialDelayMs,
      maxMessageBytes: s.protocol.maxMessageBytes,
    };
    const quickRetry = { tries: s.protocol.retryCountLimit, intervalMs: s.protocol.retryListeningSleepIntervalMs, windowMs: s.protocol.connectionErrorRetryTimeoutMs };
    const nextConnId = () => this.#nextConn++;
    this.workers = fleetWorkerCount(s.fleet.workers, T);
    const pool = this.workers > 1 ? this.#startPool(timeouts, quickRetry) : null;
    if (pool) await pool.start();
    // A failing worker ends the ramp at once: start() rejects with its error (below), not after the ramp-up.
    let failed = false;
    pool?.failed.catch(() => {
      failed = true;
      this.#wakeSleeps();
    });
    const t0 = performance.now();
    const all: Promise<void>[] = [];
    for (let t = 0; t < T; t++) {
      if (this.#stopped || failed) break;
      const due = t0 + t * stepMs - performance.now();
      if (due > 1) await this.#sleep(due);
      if (this.#stopped || failed) break;
      all.push(
        (async () => {
          const id = this.#o.identities[t % this.#o.identities.length]!;
          if (this.#o.register) {
            await acquire();
            try {
              await this.#o.register(t, id);
              this.registered++;
            } catch {
              this.registrationFailed++;
              return; // the failure is an event; an unregistered tentacle would only be refused
            } finally {
              release();
            }
          }
          if (this.#stopped) return;
          if (pool) {
            pool.run({ index: t, identity: id.identity, subscriptionId: id.subscriptionId, servers: this.#o.entriesFor(t) });
            this.started++;
            return;
          }
          const tentacle = new Tentacle({
            index: t,
            identity: id.identity,
            secureContext: id.secureContext,
            subscriptionId: id.subscriptionId,
            servers: this.#o.entriesFor(t),
            pollingConnectionCount: s.fleet.pollingConnectionCount,
            timeouts,
            backoff: s.backoff,
            quickRetry,
            preamble: s.fleet.preamble,
            sink: this.#o.sink,
            nextConnId,
          });
          this.tentacles.push(tentacle);
          tentacle.start();
          this.started++;
        })(),
      );
    }
    await (pool ? Promise.race([Promise.all(all), pool.failed]) : Promise.all(all));
  }

  /** Rejects with the internal error of a failed worker thread; never settles without workers or failure. */
  get failed(): Promise<never> {
    return this.#pool?.failed ?? new Promise<never>(() => undefined);
  }

  /** Each worker thread's own event-loop delay so far (none without workers). */
  /** The ramp is over: every worker thread measures its loop from now on as well (steadyLoopDelayMs). */
  markSteady(): void {
    this.#pool?.markSteady();
  }

  async workerHealth(): Promise<WorkerLoopHealth[]> {
    return this.#pool ? this.#pool.health() : [];
  }

  #startPool(timeouts: WorkerSettings['timeouts'], quickRetry: WorkerSettings['quickRetry']): WorkerPool {
    const s = this.#o.scenario;
    this.#pool = new WorkerPool(
      {
        pollingConnectionCount: s.fleet.pollingConnectionCount,
        timeouts,
        backoff: s.backoff,
        quickRetry,
        preamble: s.fleet.preamble,
        batchMs: FLEET_DEFAULTS.workerBatchMs,
        batchEvents: FLEET_DEFAULTS.workerBatchEvents,
        loopResolutionMs: HARNESS_DEFAULTS.loopResolutionMs,
      },
      this.workers,
      this.#o.sink,
    );
    return this.#pool;
  }

  /** End the ramp's sleeps now. */
  #wakeSleeps(): void {
    for (const [timer, wake] of this.#timers) {
      clearTimeout(timer);
      wake();
    }
    this.#timers.clear();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.set(timer, resolve);
    });
  }

  /**
   * Every tentacle ends its connections with END; no reconnects after this. With workers: each
   * stops its tentacles and sends its last events (bounded); rejects with the internal error when
   * a worker failed.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wakeSleeps();
    await Promise.all(this.tentacles.map((t) => t.stop()));
    await this.#pool?.stop();
  }
}
