import type { EventSink } from '../core/events.js';
import type { Scenario } from '../scenario/resolve.js';
import type { ServerEntry } from '../tentacle/server-entry.js';
import { Tentacle } from '../tentacle/tentacle.js';
import type { FleetIdentity } from './identity-pool.js';

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
 */
export class Fleet {
  readonly tentacles: Tentacle[] = [];
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
    const t0 = performance.now();
    const all: Promise<void>[] = [];
    for (let t = 0; t < T; t++) {
      if (this.#stopped) break;
      const due = t0 + t * stepMs - performance.now();
      if (due > 1) await this.#sleep(due);
      if (this.#stopped) break;
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
    await Promise.all(all);
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

  /** Every tentacle ends its connections with END; no reconnects after this. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const [timer, wake] of this.#timers) {
      clearTimeout(timer);
      wake();
    }
    this.#timers.clear();
    await Promise.all(this.tentacles.map((t) => t.stop()));
  }
}
