import { setMaxListeners } from 'node:events';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { now } from '../core/clock.js';
import { errorKindOf, type ErrorKind } from '../core/errors.js';
import type { EventSink, NodeRejectedEvent } from '../core/events.js';
import {
  runServerSession,
  type Identity,
  type QueuedWork,
  type ResponseMessage,
  type ServerHooks,
  type ServerSessionEnd,
  type ServerSessionOptions,
} from '../halibut/index.js';
import { thumbprintOfDer, type CertificateIdentity } from '../pki/index.js';
import type { MachineRegistry } from './machine-registry.js';
import type { QueueItem, WorkQueue } from './work-queue.js';

export interface PollingListenerOptions {
  nodeName: string;
  /** The node's certificate (HA nodes share the cluster's one). */
  certificate: CertificateIdentity;
  host: string;
  /** 0 = a free port. */
  port: number;
  registry: MachineRegistry;
  queue: WorkQueue;
  sink: EventSink;
  session: ServerSessionOptions;
  /** TCP keep-alive idle time before the first probe. */
  keepAliveInitialDelayMs: number;
  /**
   * Halibut's MaximumActiveTcpConnectionsPerPollingSubscription: a subscription's identified
   * connections beyond this many are closed right after MX-SUBSCRIBER without a byte (checked
   * before MX-SERVER). null or unset = no cap.
   */
  maxConnectionsPerSubscription?: number | null;
  /**
   * `real` (default): as a real Octopus node ([H] section 4) -- the socket is not read while
   * waiting for work, so a tentacle's FIN/END goes unnoticed and a reset is noticed only at the
   * next write; a request is marked transferred when the connection takes it and, if the write
   * or the response then fails, fails for its caller (`request-lost`, never requeued); a
   * connection refused before identification or over the cap is reset (RST).
   * `lenient`: the node pollfleet had before -- a close while waiting is noticed at once, work
   * taken by a dying connection is requeued, refused connections are closed with a FIN.
   */
  nodeBehaviour?: NodeBehaviour;
}

/** How faithfully the embedded node handles dead connections (scenario `cluster.nodeBehaviour`). */
export type NodeBehaviour = 'real' | 'lenient';

/**
 * One accepted polling connection, from either transport: the polling port's TLS socket, or
 * an upgraded WebSocket on the REST API (src/cluster/websocket-endpoint.ts).
 */
export interface PollingChannel {
  /** What the protocol session runs over. */
  duplex: Duplex;
  /** The tentacle's certificate (DER) as presented at the TLS level, if any. */
  peerCertificate(): Buffer | undefined;
  /** The socket under it: keep-alive is set on it, and a kill-like reset destroys it. */
  socket: Socket;
}

/** What every connection of one listener shares: one object, not a copy per connection. */
interface ListenerShared {
  readonly o: PollingListenerOptions;
  /** nodeBehaviour `real`. */
  readonly real: boolean;
  /** Identified connections per subscription. */
  readonly identified: Map<string, number>;
  /** Messages written to subscribers (requests and null messages). */
  pollsSent: number;
}

/**
 * One accepted connection and the session's hooks for it. The hooks are methods (on the
 * prototype), not closures made per connection: a node holds thousands of idle connections,
 * and per connection only this object's fields are kept.
 */
class Connection implements ServerHooks {
  readonly id: number;
  readonly duplex: Duplex;
  /** The raw socket under the channel (a refused connection is reset on it). */
  readonly socket: Socket;
  /** The channel, for its peer certificate; null: `duplex` is the polling port's TLS socket. */
  readonly #channel: PollingChannel | null;
  readonly #l: ListenerShared;
  thumbprint: string | undefined = undefined;
  rejectReason: NodeRejectedEvent['reason'] | undefined = undefined;
  /** The subscription refused by the per-subscription cap. */
  capSubscription: string | undefined = undefined;
  subscription: string | undefined = undefined;
  /** Handed out by the queue and not yet answered. */
  taken: QueueItem | null = null;
  /** Whether `taken` is transferred (never requeued): at the take (real) or once written (lenient). */
  transferred = false;
  /** Whether `taken` was written to the tentacle. */
  written = false;

  constructor(l: ListenerShared, id: number, duplex: Duplex, socket: Socket, channel: PollingChannel | null) {
    this.#l = l;
    this.id = id;
    this.duplex = duplex;
    this.socket = socket;
    this.#channel = channel;
  }

  /** The tentacle's certificate (DER) as presented at the TLS level, if any. */
  #peerCertificate(): Buffer | undefined {
    return this.#channel ? this.#channel.peerCertificate() : peerCertificateOf(this.duplex as tls.TLSSocket);
  }

  authorize(): boolean {
    const raw = this.#peerCertificate();
    if (!raw || raw.length === 0) {
      this.rejectReason = 'no-certificate';
      return false;
    }
    this.thumbprint = thumbprintOfDer(raw);
    if (!this.#l.o.registry.isTrusted(this.thumbprint)) {
      this.rejectReason = 'untrusted';
      return false;
    }
    return true;
  }

  identified(identity: Identity): boolean {
    const { o, identified } = this.#l;
    const sub = identity.subscriptionId!;
    const cap = o.maxConnectionsPerSubscription;
    if (cap != null && (identified.get(sub) ?? 0) >= cap) {
      this.rejectReason = 'over-subscription-cap';
      this.capSubscription = sub;
      return false;
    }
    this.subscription = sub;
    identified.set(sub, (identified.get(sub) ?? 0) + 1);
    o.sink({ type: 'node-identified', at: now(), node: o.nodeName, connId: this.id, subscription: sub, thumbprint: this.thumbprint! });
    return true;
  }

  /** Not an async function: a suspended one keeps a frame per waiting connection, a callback only its context. */
  nextWork(subscription: string, waitMs: number, signal: AbortSignal): Promise<QueuedWork | null> {
    return this.#l.o.queue.take(subscription, this.#l.o.nodeName, waitMs, signal).then((item) => this.#took(item));
  }

  #took(item: QueueItem | null): QueueItem | null {
    if (item) {
      this.taken = item;
      // A real node marks the request transferred before it writes it (Halibut
      // source/Halibut/ServiceModel/PendingRequestQueueAsync.cs: dequeued = in progress).
      this.transferred = this.#l.real;
      this.written = false;
    }
    return item;
  }

  sent(kind: 'null' | 'request', work: QueuedWork | null): void {
    const { o } = this.#l;
    this.#l.pollsSent++;
    const at = now();
    o.sink({ type: 'node-sent', at, node: o.nodeName, connId: this.id, subscription: this.subscription!, kind });
    if (kind === 'request' && work) {
      const item = work as QueueItem;
      this.transferred = true;
      this.written = true;
      o.sink({
        type: 'request-dispatched', at, node: o.nodeName, owner: item.owner, requestKey: item.key,
        subscription: item.subscription, enqueuedAt: item.enqueuedAt,
      });
    }
  }

  responded(work: QueuedWork, response: ResponseMessage): void {
    const { o } = this.#l;
    const item = work as QueueItem;
    this.taken = null;
    this.transferred = false;
    this.written = false;
    const echoed = response.id === item.request.id;
    o.sink({
      type: 'request-answered', at: now(), node: o.nodeName, owner: item.owner, requestKey: item.key,
      subscription: item.subscription, ok: echoed && response.error === null,
    });
    if (echoed) o.queue.complete(item, { outcome: 'answered', response, servedBy: o.nodeName });
    else {
      // Halibut matches a response to its request by id; an unmatched one is dropped.
      o.queue.complete(item, {
        outcome: 'failed', errorKind: 'protocol.bad-message',
        message: `the response id "${response.id.slice(0, 120)}" does not match the request id`,
      });
    }
  }

  requeue(work: QueuedWork): void {
    const item = work as QueueItem;
    const transferred = this.transferred;
    this.taken = null;
    this.transferred = false;
    this.written = false;
    if (transferred) lose(this.#l.o, item, false, 'closed.by-peer', 'the connection closed before the request was written');
    else this.#l.o.queue.requeue(item);
  }

  closeRefused(): void {
    if (!this.#l.real) {
      this.duplex.destroy();
      return;
    }
    // A real node closes a refused connection at once (Halibut
    // source/Halibut/Transport/SecureListener.cs, ExecuteRequest's finally:
    // client.CloseImmediately, a zero linger): the tentacle sees a reset. The TLS layer
    // is destroyed a turn later: destroying it in the same turn as resetting the socket
    // under it is unsafe in Node.
    resetOrDestroy(this.socket);
    setImmediate(destroyDuplex, this.duplex);
  }

  answeredHttp(): void {
    this.rejectReason = 'http-page';
  }
}

function destroyDuplex(d: Duplex): void {
  d.destroy();
}

/** A connection's errors are reported through the session's outcome. */
function ignoreError(): void {
  /* reported through the session's outcome */
}

/**
 * A collected request whose write or response failed: it fails for its caller and is never
 * requeued (Halibut source/Halibut/Transport/Protocol/MessageExchangeProtocol.cs: an
 * exception after the dequeue becomes the request's error response). Counted as lost
 * after collection.
 */
function lose(o: PollingListenerOptions, item: QueueItem, written: boolean, errorKind: ErrorKind, message: string): void {
  o.sink({
    type: 'request-lost', at: now(), node: o.nodeName, owner: item.owner, requestKey: item.key,
    subscription: item.subscription, enqueuedAt: item.enqueuedAt, written, errorKind,
  });
  o.queue.complete(item, { outcome: 'failed', errorKind, message });
}

/**
 * A node's polling port: a TLS server that asks for (but does not verify) a client
 * certificate, authorises the tentacle by thumbprint after the preamble, and runs the
 * node's side of the polling protocol (src/halibut runServerSession) on each connection,
 * handing out work from the WorkQueue.
 *
 * Events: `node-accepted` when TLS is up; then exactly one terminal event per connection:
 * `node-rejected` (no certificate, untrusted thumbprint, over the per-subscription cap, the HTML page for a non-`MX` peer, or
 * a protocol error before identification) or `node-closed`. In between: `node-identified`,
 * `node-sent` per message written, `request-dispatched` when a request is written (the end of
 * its pickup latency, emitted here because only the serving node knows when that is) and
 * `request-answered` when its response arrives.
 */
export class PollingListener {
  readonly #o: PollingListenerOptions;
  readonly #server: tls.Server;
  readonly #connections = new Map<number, Connection>();
  /** Raw TCP sockets, for a kill-like reset (a TLS socket cannot be reset directly). */
  readonly #raw = new Set<Socket>();
  readonly #shared: ListenerShared;
  readonly #stopping = new AbortController();
  /** The session options, one object for every connection. */
  readonly #session: ServerSessionOptions;
  /** One 'close' listener for every raw socket (called with the socket as `this`). */
  readonly #onRawClose: (this: Socket) => void;
  #nextConnId = 1;
  #destroying = false;
  #listening = false;
  #stopPromise: Promise<void> | null = null;
  #port = 0;
  #onAllClosed: (() => void) | null = null;

  constructor(o: PollingListenerOptions) {
    // One signal watched by every connection (thousands): not a leak.
    setMaxListeners(0, this.#stopping.signal);
    this.#o = o;
    const real = (o.nodeBehaviour ?? 'real') === 'real';
    this.#shared = { o, real, identified: new Map(), pollsSent: 0 };
    this.#session = { ...o.session, noticeCloseWhileWaiting: !real };
    const forget = (raw: Socket): void => {
      this.#raw.delete(raw);
      if (this.#raw.size === 0) this.#onAllClosed?.();
    };
    this.#onRawClose = function (this: Socket) {
      forget(this);
    };
    this.#server = tls.createServer(
      {
        cert: o.certificate.certPem,
        key: o.certificate.keyPem,
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
      },
      (socket) => this.#onSecure(socket),
    );
    this.#server.on('connection', (raw: Socket) => this.#track(raw));
    // A failed handshake (scanner, wrong protocol, a peer that refused our certificate) never
    // becomes a connection; the client side reports it.
    this.#server.on('tlsClientError', (_e, socket) => socket.destroy());
  }

  /** Start listening; resolves with the port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.#server.once('error', onError);
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off('error', onError);
        this.#listening = true;
        const addr = this.#server.address();
        this.#port = typeof addr === 'object' && addr ? addr.port : this.#o.port;
        resolve(this.#port);
      });
    });
  }

  get port(): number {
    return this.#port;
  }

  /** Open connections (TLS up), identified or not. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Messages written to subscribers (requests and null messages). */
  get pollsSent(): number {
    return this.#shared.pollsSent;
  }

  /** Identified connections per subscription. */
  connectedSubscriptions(): ReadonlyMap<string, number> {
    return this.#shared.identified;
  }

  /** Keep a raw socket for a kill-like reset until it closes ('close' comes once: no once-wrapper). */
  #track(raw: Socket): void {
    this.#raw.add(raw);
    raw.on('close', this.#onRawClose);
  }

  /**
   * Graceful stop: stop accepting, close every session at its next `NEXT` (a waiting session
   * sends the null message first, an in-flight request is answered first) without `END` --
   * a polling node never sends END -- then after `timeoutMs` destroy what is left. Idempotent.
   */
  stop(timeoutMs: number): Promise<void> {
    this.#stopPromise ??= this.#stop(timeoutMs);
    return this.#stopPromise;
  }

  async #stop(timeoutMs: number): Promise<void> {
    this.#stopping.abort();
    const closed = this.#closeServer();
    if (this.#raw.size > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#onAllClosed = null;
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        this.#onAllClosed = done;
      });
    }
    this.destroyAll();
    await closed;
  }

  /**
   * Close every connection at once and stop accepting. `reset: true` sends
   * a TCP RST (what a crashed process's kernel does) instead of a FIN.
   */
  destroyAll(o: { reset?: boolean } = {}): void {
    this.#destroying = true;
    this.#stopping.abort();
    void this.#closeServer();
    for (const raw of this.#raw) {
      if (o.reset && !raw.destroyed) resetOrDestroy(raw);
      else raw.destroy();
    }
    for (const c of this.#connections.values()) c.duplex.destroy();
  }

  #closeServer(): Promise<void> {
    if (!this.#listening) return Promise.resolve();
    this.#listening = false;
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #onSecure(socket: tls.TLSSocket): void {
    // The TCP socket under the TLS one (for a reset); Node keeps it as `_parent`.
    const raw = (socket as unknown as { _parent?: Socket })._parent ?? socket;
    this.#serve(socket, raw, null);
  }

  /**
   * Serve a connection accepted elsewhere (polling over WebSockets): the same authorisation,
   * session, events and bookkeeping as the polling port, and the same graceful stop. Refused
   * (destroyed) once the listener is stopping.
   */
  serve(channel: PollingChannel): void {
    const raw = channel.socket;
    if (this.#stopping.signal.aborted) {
      channel.duplex.destroy();
      raw.destroy();
      return;
    }
    this.#track(raw);
    this.#serve(channel.duplex, raw, channel);
  }

  /** `channel` null: `duplex` is the polling port's TLS socket (its peer certificate is read there). */
  #serve(duplex: Duplex, socket: Socket, channel: PollingChannel | null): void {
    const conn = new Connection(this.#shared, this.#nextConnId++, duplex, socket, channel);
    duplex.on('error', ignoreError);
    if (this.#destroying) {
      duplex.destroy();
      return;
    }
    this.#connections.set(conn.id, conn);
    socket.setKeepAlive(true, this.#o.keepAliveInitialDelayMs);
    socket.setNoDelay(false);
    this.#o.sink({ type: 'node-accepted', at: now(), node: this.#o.nodeName, connId: conn.id });
    runServerSession(duplex, conn, this.#session, this.#stopping.signal).then(
      (end) => this.#ended(conn, end),
      (e: unknown) => this.#failed(conn, e),
    );
  }

  #ended(conn: Connection, end: ServerSessionEnd): void {
    const { sink, nodeName } = this.#o;
    this.#release(conn, 'closed.by-peer', 'the connection ended');
    if (end === 'http-page' || end === 'rejected' || end === 'refused-identity') {
      const reason = end === 'http-page' ? 'http-page' : conn.rejectReason ?? 'protocol';
      const ev: NodeRejectedEvent = { type: 'node-rejected', at: now(), node: nodeName, connId: conn.id, reason };
      if (conn.thumbprint) ev.thumbprint = conn.thumbprint;
      if (conn.capSubscription) ev.subscription = conn.capSubscription;
      sink(ev);
      return;
    }
    sink({
      type: 'node-closed', at: now(), node: nodeName, connId: conn.id, subscription: conn.subscription,
      reason: end === 'stopped' || this.#destroying ? 'stopped' : 'ended-by-peer',
    });
  }

  #failed(conn: Connection, e: unknown): void {
    const { sink, nodeName } = this.#o;
    const errorKind = errorKindOf(e);
    this.#release(conn, errorKind, (e as Error)?.message ?? String(e));
    conn.duplex.destroy();
    if (!conn.subscription && errorKind.startsWith('protocol.')) {
      const ev: NodeRejectedEvent = { type: 'node-rejected', at: now(), node: nodeName, connId: conn.id, reason: 'protocol' };
      if (conn.thumbprint) ev.thumbprint = conn.thumbprint;
      sink(ev);
      return;
    }
    const reason = this.#destroying ? 'stopped' : errorKind === 'closed.by-peer' ? 'ended-by-peer' : 'error';
    sink({ type: 'node-closed', at: now(), node: nodeName, connId: conn.id, subscription: conn.subscription, reason, errorKind });
  }

  /** Forget the connection; give back work it never wrote, fail work it wrote and never got answered. */
  #release(conn: Connection, errorKind: ErrorKind, message: string): void {
    this.#connections.delete(conn.id);
    if (conn.subscription) {
      const identified = this.#shared.identified;
      const n = (identified.get(conn.subscription) ?? 1) - 1;
      if (n <= 0) identified.delete(conn.subscription);
      else identified.set(conn.subscription, n);
    }
    const item = conn.taken;
    const { transferred, written } = conn;
    conn.taken = null;
    conn.transferred = false;
    conn.written = false;
    if (!item) return;
    if (transferred) lose(this.#o, item, written, errorKind, message);
    else this.#o.queue.requeue(item);
  }
}

function peerCertificateOf(socket: tls.TLSSocket): Buffer | undefined {
  const cert = socket.getPeerCertificate();
  return (cert as { raw?: Buffer } | undefined)?.raw;
}

/** A TCP RST where the socket allows it (a plain TCP socket), else an ordinary destroy. */
function resetOrDestroy(raw: Socket): void {
  try {
    raw.resetAndDestroy();
  } catch {
    raw.destroy();
  }
}
