import type { Duplex } from 'node:stream';
import { CONTROL_END, CONTROL_PROCEED, END_LINE, IDENTITY_SERVER, IDENTITY_SUBSCRIBER, NEXT_LINE, PREAMBLE_CRLF } from './constants.js';
import { encodeMessage } from './codec.js';
import { HashingSink, writeMessageWithStreams, type OutgoingDataStream, type ReceivedDataStream } from './data-stream.js';
import { HalibutError } from './halibut-error.js';
import { identityBytes, parseIdentity } from './identity.js';
import type { RequestMessage, ResponseMessage } from './messages.js';
import { ProtocolReader, type ReadWaiter } from './reader.js';

/** Timeouts of the tentacle (subscriber) side; every one a named setting of the caller. */
export interface SubscriberSessionOptions {
  subscriptionId: string;
  /** Wait for the first byte of the next message (TcpClientReceiveRequestTimeoutForPolling). */
  receiveRequestTimeoutMs: number;
  /** All other reads (TcpClientTimeout). */
  receiveTimeoutMs: number;
  /** NEXT / PROCEED / END and the identity answer (TcpClientHeartbeatTimeout). */
  heartbeatTimeoutMs: number;
  maxMessageBytes: number;
  /** Preamble form: Windows Tentacles send CRLF, Linux ones LF. */
  preamble?: Buffer;
}

export interface SubscriberHooks {
  /**
   * The preamble is written and the identity is about to be: from here on a failure is
   * "after identification began", which a Tentacle does not retry quickly (src/tentacle/quick-retry.ts).
   */
  identifying?(): void;
  identified(): void;
  /** A poll: a message arrived (a request or the null message). */
  polled(kind: 'null' | 'request', request: RequestMessage | null, wireBytes: number): void;
  /**
   * Run a request; the returned response is written back. The request's data streams arrived
   * streamed through a running SHA-256 (any size; never held in memory): `streams` has their
   * lengths and hashes. Data streams after the response are optional.
   */
  handle(request: RequestMessage, streams: ReceivedDataStream[]): Promise<{ response: ResponseMessage; streams?: OutgoingDataStream[] }>;
  answered?(request: RequestMessage, response: ResponseMessage): void;
  /**
   * The session failed (not stopped) without a single byte from the node: after the identity,
   * that is a node that does not trust this tentacle, or one over its connection cap.
   */
  receivedNothing?(): void;
}

/**
 * A subscriber session ends normally only when it is stopped (it sends END). A polling node
 * never sends END ([H] section 4): END in place of PROCEED is a protocol error, as a
 * Tentacle raises it ("Expected PROCEED, got: END"; Halibut
 * source/Halibut/Transport/Protocol/MessageExchangeProtocol.cs), and a close is an error too.
 */
export type SessionEnd = 'stopped';

function write(d: Duplex, b: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    d.write(b, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * The tentacle's side of one polling connection, over an already secured Duplex:
 * preamble, `MX-SUBSCRIBER` identity (one write), expect `MX-SERVER`, then forever:
 * message -> (answer a request) -> `NEXT` -> expect `PROCEED`.
 * Resolves when stopped (`END` sent); rejects with a HalibutError (or the socket's error)
 * otherwise -- also when the node sends `END` instead of `PROCEED`.
 */
export function runSubscriberSession(
  duplex: Duplex,
  hooks: SubscriberHooks,
  o: SubscriberSessionOptions,
  signal?: AbortSignal,
): Promise<SessionEnd> {
  return new Promise<SessionEnd>((resolve, reject) => {
    new SubscriberSession(duplex, hooks, o, signal, {
      sessionEnded: (end, error) => (end !== null ? resolve(end) : reject(error)),
    }).start();
  });
}

/** Told once how a session ended: `end` when it was stopped, otherwise null and the error. */
export interface SessionDone {
  sessionEnded(end: SessionEnd | null, error: unknown): void;
}

/** A running session: stop() ends its wait at once (call it once `signal` has aborted). */
export interface SessionHandle {
  stop(): void;
}

/**
 * runSubscriberSession without a promise: the outcome goes to `done.sessionEnded` (a polling
 * connection passes itself, so a held connection keeps no promise or closure for it). With
 * `watchSignal: false` the session adds no listener to `signal` (it still reads
 * `signal.aborted`): the caller calls stop() on the returned handle when it aborts (a tentacle
 * listens once for all its connections).
 */
export function startSubscriberSession(
  duplex: Duplex,
  hooks: SubscriberHooks,
  o: SubscriberSessionOptions,
  signal: AbortSignal | undefined,
  done: SessionDone,
  watchSignal = true,
): SessionHandle {
  const session = new SubscriberSession(duplex, hooks, o, watchSignal ? signal : undefined, done, signal);
  session.start();
  return session;
}

/**
 * One session: the handshake and each exchange are short async steps; between exchanges (the
 * idle wait for the next message, ~30 s) the session is only the callbacks on the reader's wait,
 * not a suspended async frame. Measured (bench/heap-hold.ts, 500 tentacles x 3 nodes held, this
 * 2-core machine): see src/tentacle/polling-connection.ts for the before/after figures.
 */
class SubscriberSession implements ReadWaiter, SessionHandle {
  readonly #duplex: Duplex;
  readonly #hooks: SubscriberHooks;
  readonly #o: SubscriberSessionOptions;
  /** Whether stopped (END instead of NEXT, END on the way out). */
  readonly #signal: AbortSignal | undefined;
  /** The signal this session listens on (none when the caller calls stop()). */
  readonly #watched: AbortSignal | undefined;
  readonly #reader: ProtocolReader;
  #done: SessionDone | null;

  constructor(
    duplex: Duplex,
    hooks: SubscriberHooks,
    o: SubscriberSessionOptions,
    watched: AbortSignal | undefined,
    done: SessionDone,
    signal: AbortSignal | undefined = watched,
  ) {
    this.#done = done;
    this.#duplex = duplex;
    this.#hooks = hooks;
    this.#o = o;
    this.#signal = signal;
    this.#watched = watched;
    this.#reader = new ProtocolReader(duplex, { maxMessageBytes: o.maxMessageBytes });
    // The reader is the abort listener itself (its handleEvent disposes it): no closure per session.
    watched?.addEventListener('abort', this.#reader, { once: true });
  }

  /** The signal has aborted: end the wait now (the session then sends END and ends as stopped). */
  stop(): void {
    this.#reader.dispose();
  }

  start(): void {
    this.#handshake().then(
      () => this.#idle(),
      (e: unknown) => this.#failed(e),
    );
  }

  async #handshake(): Promise<void> {
    const o = this.#o;
    const hooks = this.#hooks;
    const duplex = this.#duplex;
    const reader = this.#reader;
    const preamble = o.preamble ?? PREAMBLE_CRLF;
    // The preamble completes acquiring the connection (Halibut SecureClient writes MX before the
    // protocol starts); the identity is the first step of the protocol.
    if (preamble.length > 0) await write(duplex, preamble);
    hooks.identifying?.();
    duplex.write(identityBytes(IDENTITY_SUBSCRIBER, o.subscriptionId));
    const line = await reader.readLine({ timeoutMs: o.heartbeatTimeoutMs, timeoutKind: 'timeout.heartbeat' });
    const identity = parseIdentity(line);
    if (identity.kind !== IDENTITY_SERVER) {
      throw new HalibutError('protocol.unexpected-identity', `expected ${IDENTITY_SERVER}, the node identified as ${identity.kind}`);
    }
    const blank = await reader.readLine({ timeoutMs: o.heartbeatTimeoutMs, timeoutKind: 'timeout.heartbeat' });
    if (blank !== '') throw new HalibutError('protocol.error', 'no blank line after the node identity');
    hooks.identified();
  }

  /**
   * Wait for the next message's first byte (TcpClientReceiveRequestTimeoutForPolling), then
   * exchange: the session itself is the reader's waiter (dataReady / readFailed), so the idle
   * wait holds no promise or closure.
   */
  #idle(): void {
    this.#reader.waitForDataThen({ timeoutMs: this.#o.receiveRequestTimeoutMs, timeoutKind: 'timeout.receive' }, this);
  }

  /** ReadWaiter: the next message's first byte arrived (or the node closed: the read meets it). */
  dataReady(): void {
    this.#exchange().then(
      (stopped) => (stopped ? this.#end('stopped') : this.#idle()),
      (e: unknown) => this.#failed(e),
    );
  }

  /** ReadWaiter: no first byte within the timeout, or the socket failed. */
  readFailed(e: Error): void {
    this.#failed(e);
  }

  /** One message (its first byte has arrived) and its answer, NEXT, PROCEED. True once stopped (END sent). */
  async #exchange(): Promise<boolean> {
    const o = this.#o;
    const hooks = this.#hooks;
    const duplex = this.#duplex;
    const reader = this.#reader;
    const sinks: HashingSink[] = [];
    const received = await reader.readMessage({
      firstByteTimeoutMs: o.receiveRequestTimeoutMs,
      timeoutMs: o.receiveTimeoutMs,
      timeoutKind: 'timeout.receive',
      streamTo: (ref) => {
        const sink = new HashingSink(ref.id);
        sinks.push(sink);
        return sink;
      },
    });
    const m = received.message;
    if (m.kind === 'response') throw new HalibutError('protocol.bad-message', 'the node sent a ResponseMessage to a subscriber');
    if (m.kind === 'request') {
      hooks.polled('request', m.request, received.wireBytes);
      const { response, streams } = await hooks.handle(m.request, sinks.map((k) => k.received));
      await writeMessageWithStreams(duplex, encodeMessage({ kind: 'response', response }), streams);
      hooks.answered?.(m.request, response);
    } else {
      hooks.polled('null', null, received.wireBytes);
    }
    if (this.#signal?.aborted) {
      await write(duplex, END_LINE);
      return true;
    }
    await write(duplex, NEXT_LINE);
    const control = await reader.readControlLine({
      timeoutMs: o.heartbeatTimeoutMs,
      timeoutKind: 'timeout.heartbeat',
      skipEmpty: true,
    });
    if (control === CONTROL_END) {
      throw new HalibutError('protocol.unexpected-control', 'expected PROCEED, got END: a polling node never sends END');
    }
    if (control !== CONTROL_PROCEED) {
      throw new HalibutError('protocol.unexpected-control', `expected PROCEED, got "${control.slice(0, 40)}"`);
    }
    return false;
  }

  #failed(e: unknown): void {
    if (this.#signal?.aborted) {
      // Stopped while waiting: close normally, as a Tentacle does, with END.
      const d = this.#duplex;
      try {
        if (!d.destroyed && d.writable) d.write(END_LINE);
      } catch (err) {
        this.#settle(null, err);
        return;
      }
      this.#end('stopped');
      return;
    }
    if (!this.#reader.hasReceived) this.#hooks.receivedNothing?.();
    this.#settle(null, e);
  }

  #end(end: SessionEnd): void {
    this.#settle(end, null);
  }

  /** Release the reader and the signal, then settle once. */
  #settle(end: SessionEnd | null, error: unknown): void {
    this.#watched?.removeEventListener('abort', this.#reader);
    this.#reader.dispose();
    const done = this.#done;
    this.#done = null;
    done?.sessionEnded(end, error);
  }
}
