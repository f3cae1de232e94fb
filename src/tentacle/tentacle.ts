import { setMaxListeners } from 'node:events';
import * as tls from 'node:tls';
import { now } from '../core/clock.js';
import { PollfleetError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import { PREAMBLE_CRLF, PREAMBLE_LF } from '../halibut/constants.js';
import type { CertificateIdentity } from '../pki/certificate.js';
import { PROTOCOL_DEFAULTS, TENTACLE_DEFAULTS } from '../scenario/defaults.js';
import { BackoffClock, type BackoffPolicy } from './backoff.js';
import {
  PollingConnection, type ConnectionDone, type ConnectionOutcome, type ConnectionTimeouts, type PollingConnectionOptions, type RequestHandler,
} from './polling-connection.js';
import { checkQuickRetryPolicy, isQuicklyRetried, type QuickRetryPolicy } from './quick-retry.js';
import type { ServerEntry } from './server-entry.js';
import { TentacleServices } from './services.js';

export interface TentacleOptions {
  /** Index in the fleet (the `tentacle` id of events). */
  index: number;
  identity: CertificateIdentity;
  /** A context already made from `identity` (shared by whoever built it); made here otherwise. */
  secureContext?: tls.SecureContext;
  /** The same subscription id is used for every node ([H] section 2). */
  subscriptionId: string;
  servers: ServerEntry[];
  /** Connections per server entry, 1..512 (Tentacle.Communication.PollingConnectionCount). */
  pollingConnectionCount?: number;
  timeouts: ConnectionTimeouts;
  backoff: BackoffPolicy;
  /** The quick inner retries before the back-off (src/tentacle/quick-retry.ts); the real defaults when omitted. */
  quickRetry?: QuickRetryPolicy;
  sink: EventSink;
  /** Fleet-wide id for each connection attempt. */
  nextConnId: () => number;
  /** Source of the per-connection back-off multiplier. */
  random?: () => number;
  /** How long a simulated script runs (TENTACLE_DEFAULTS.scriptRunMs). */
  scriptRunMs?: number;
  /** The RPC services; a TentacleServices per tentacle by default. */
  services?: RequestHandler;
  localAddress?: string;
  /** The preamble a TCP connection starts with (fleet.preamble): `crlf` as Windows Tentacles send it (default), `lf` as Linux ones. */
  preamble?: PreambleStyle;
}

export type PreambleStyle = 'crlf' | 'lf';

/** The bytes of a preamble style (MX, then a blank line). */
export function preambleBytes(style: PreambleStyle): Buffer {
  return style === 'lf' ? PREAMBLE_LF : PREAMBLE_CRLF;
}

/** A tentacle's TLS context: its certificate as the client certificate. */
export function tentacleSecureContext(identity: CertificateIdentity): tls.SecureContext {
  return tls.createSecureContext({ cert: identity.certPem, key: identity.keyPem, minVersion: 'TLSv1.2' });
}

/** The real quick-retry settings ([H] section 5). */
export function defaultQuickRetry(): QuickRetryPolicy {
  return {
    tries: PROTOCOL_DEFAULTS.retryCountLimit,
    intervalMs: PROTOCOL_DEFAULTS.retryListeningSleepIntervalMs,
    windowMs: PROTOCOL_DEFAULTS.connectionErrorRetryTimeoutMs,
  };
}

/**
 * A polling Tentacle: for every server entry, `pollingConnectionCount` connections, each a
 * loop of attempts (a ConnectionLoop of PollingConnections), forever, until stop(). Two loops nested, as
 * Halibut's PollingClient around SecureClient ([H] section 5): a failure before the
 * connection is acquired is retried quickly (src/tentacle/quick-retry.ts); when those
 * tries are used up, or the failure is not one to retry quickly, the back-off
 * (src/tentacle/backoff.ts) sleeps before the next round. Every sleep is a `backoff` event
 * (`quick: true` for the inner one), so reconnects count both loops. stop() ends identified
 * connections with END and cancels sleeps.
 */
export class Tentacle {
  readonly index: number;
  readonly #o: TentacleOptions;
  readonly #secureContext: tls.SecureContext;
  readonly #services: RequestHandler;
  readonly #count: number;
  readonly #quick: QuickRetryPolicy;
  readonly #abort = new AbortController();
  #started = false;
  /** Connection loops not yet ended. */
  #running = 0;
  #allEnded: (() => void) | null = null;
  #stopping: Promise<void> | null = null;

  constructor(o: TentacleOptions) {
    const count = o.pollingConnectionCount ?? TENTACLE_DEFAULTS.pollingConnectionCount;
    if (!Number.isInteger(count) || count < 1 || count > TENTACLE_DEFAULTS.maxPollingConnectionCount) {
      throw new PollfleetError(
        'input.invalid',
        `pollingConnectionCount must be an integer from 1 to ${TENTACLE_DEFAULTS.maxPollingConnectionCount}, got ${count}`,
      );
    }
    this.index = o.index;
    this.#o = o;
    this.#count = count;
    this.#quick = checkQuickRetryPolicy(o.quickRetry ?? defaultQuickRetry());
    this.#secureContext = o.secureContext ?? tentacleSecureContext(o.identity);
    this.#services = o.services ?? new TentacleServices({ scriptRunMs: o.scriptRunMs ?? TENTACLE_DEFAULTS.scriptRunMs });
    // Connections being opened and back-off sleeps listen on this one signal (held ones do not: start() listens once for them).
    setMaxListeners(0, this.#abort.signal);
  }

  get isStarted(): boolean {
    return this.#started;
  }

  /** Start polling every server entry. Idempotent; refused after stop(). */
  start(): void {
    if (this.#stopping) throw new PollfleetError('internal', `tentacle ${this.index} was stopped; make a new one`);
    if (this.#started) return;
    this.#started = true;
    const o = this.#o;
    // One callback for all of this tentacle's loops.
    const ended = () => {
      if (--this.#running === 0) this.#allEnded?.();
    };
    const loops: ConnectionLoop[] = [];
    o.servers.forEach((server, entry) => {
      for (let i = 0; i < this.#count; i++) {
        // Every field set in the literal (none added later): the object keeps its properties in itself.
        const attempt: PollingConnectionOptions = {
          tentacle: o.index,
          entry,
          conn: 0,
          server,
          secureContext: this.#secureContext,
          tentacleThumbprint: o.identity.thumbprint,
          subscriptionId: o.subscriptionId,
          timeouts: o.timeouts,
          services: this.#services,
          sink: o.sink,
          localAddress: o.localAddress,
          preamble: o.preamble ? preambleBytes(o.preamble) : undefined,
        };
        loops.push(new ConnectionLoop(o, this.#quick, this.#abort.signal, attempt, ended));
      }
    });
    this.#running = loops.length;
    // One abort listener for all of this tentacle's connections (not one per session).
    this.#abort.signal.addEventListener('abort', () => {
      for (const loop of loops) loop.stop();
    }, { once: true });
    for (const loop of loops) loop.next();
  }

  /** End every connection with END, cancel back-off sleeps, resolve when all are closed. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      this.#allEnded = resolve;
      this.#abort.abort();
      if (this.#running === 0) resolve();
    });
    return this.#stopping;
  }
}

/**
 * One polling connection's two loops ([H] section 5), driven by callbacks: the quick inner
 * tries (until one is not retried quickly, `tries` are used up, or the window has passed),
 * then the back-off sleep, whose clock starts at the round's first attempt. A held connection
 * keeps this object and no suspended async frame (the attempt reports to connectionEnded).
 */
class ConnectionLoop implements ConnectionDone {
  readonly #o: TentacleOptions;
  readonly #quick: QuickRetryPolicy;
  readonly #signal: AbortSignal;
  readonly #attempt: PollingConnectionOptions;
  readonly #clock: BackoffClock;
  readonly #ended: () => void;
  #tries = 0;
  /** The attempt running now (null while sleeping). */
  #current: PollingConnection | null = null;
  /** When the round's first attempt started (null: a new round). */
  #firstStartedAtMs: number | null = null;

  constructor(o: TentacleOptions, quick: QuickRetryPolicy, signal: AbortSignal, attempt: PollingConnectionOptions, ended: () => void) {
    this.#o = o;
    this.#quick = quick;
    this.#signal = signal;
    this.#attempt = attempt;
    this.#clock = new BackoffClock(o.backoff, o.random);
    this.#ended = ended;
  }

  /** The next attempt, or the end once stopped. */
  next(): void {
    if (this.#signal.aborted) {
      this.#ended();
      return;
    }
    this.#tries++;
    this.#attempt.conn = this.#o.nextConnId();
    const c = new PollingConnection(this.#attempt);
    this.#current = c;
    c.start(this.#signal, this, true);
  }

  /** The tentacle's signal has aborted: end the current connection's session wait. */
  stop(): void {
    this.#current?.stop();
  }

  connectionEnded(outcome: ConnectionOutcome): void {
    const o = this.#o;
    const q = this.#quick;
    const attempt = this.#attempt;
    this.#current = null;
    if (this.#signal.aborted) {
      this.#ended();
      return;
    }
    const firstStartedAtMs = (this.#firstStartedAtMs ??= outcome.startedAtMs);
    // Halibut checks the window before each try; checking it before the sleep spares a sleep that leads nowhere.
    if (isQuicklyRetried(outcome) && this.#tries < q.tries && now() - firstStartedAtMs < q.windowMs) {
      o.sink({ type: 'backoff', at: now(), tentacle: o.index, entry: attempt.entry, conn: attempt.conn, delayMs: q.intervalMs, quick: true });
      this.#sleepThenNext(q.intervalMs);
      return;
    }
    if (outcome.wasIdentified) this.#clock.identified();
    const delayMs = this.#clock.failed(now(), firstStartedAtMs);
    this.#firstStartedAtMs = null;
    this.#tries = 0;
    o.sink({ type: 'backoff', at: now(), tentacle: o.index, entry: attempt.entry, conn: attempt.conn, delayMs });
    this.#sleepThenNext(delayMs);
  }

  #sleepThenNext(ms: number): void {
    sleep(ms, this.#signal).then(() => this.next());
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
