import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import { now } from '../core/clock.js';
import { PollfleetError, errorDataOf, errorKindOf, type ErrorData, type ErrorKind } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import type { RequestMessage, ResponseMessage } from '../halibut/messages.js';
import type { OutgoingDataStream, ReceivedDataStream } from '../halibut/data-stream.js';
import { startSubscriberSession, type SessionDone, type SessionEnd, type SessionHandle, type SubscriberHooks } from '../halibut/subscriber-session.js';
import { END_LINE } from '../halibut/constants.js';
import { CLOSE_PROTOCOL_ERROR, WEBSOCKET_PREAMBLE_TEXT, WEBSOCKET_THUMBPRINT_CLOSE_REASON } from '../halibut/websocket-frames.js';
import type { WebSocketStream } from '../halibut/websocket-stream.js';
import { thumbprintOfDer } from '../pki/thumbprint.js';
import { openConnectTunnel, proxyLabel } from './proxy-tunnel.js';
import type { ServerEntry } from './server-entry.js';
import { upgradeToWebSocket } from './websocket-transport.js';

/** Over WebSockets the text message `MX` stands in for the preamble: the byte stream starts with the identity. */
const NO_PREAMBLE = Buffer.alloc(0);

/** Timeouts of one polling connection; defaults in PROTOCOL_DEFAULTS ([H] section 5). */
export interface ConnectionTimeouts {
  /** TCP connect (TcpClientConnectTimeout). */
  connectTimeoutMs: number;
  /** First byte of the next message (TcpClientReceiveRequestTimeoutForPolling). */
  receiveRequestTimeoutMs: number;
  /** All other reads, and the TLS handshake (TcpClientTimeout). */
  receiveTimeoutMs: number;
  /** MX-SERVER, PROCEED, and the close after END (TcpClientHeartbeatTimeout). */
  heartbeatTimeoutMs: number;
  /** TCP keep-alive idle time before the first probe. */
  keepAliveInitialDelayMs: number;
  maxMessageBytes: number;
}

/** Whatever runs the requests a node sends (TentacleServices). */
export interface RequestHandler {
  handle(request: RequestMessage): ResponseMessage | Promise<ResponseMessage>;
  /** With the request's received data streams (hashed, src/halibut/data-stream.ts) and the response's own. */
  handleWithStreams?(request: RequestMessage, streams: ReceivedDataStream[]): { response: ResponseMessage; streams: OutgoingDataStream[] };
}

export interface PollingConnectionOptions {
  /** Ids for events. */
  tentacle: number;
  entry: number;
  conn: number;
  server: ServerEntry;
  /** Made once per identity by the caller, from the tentacle's certificate and key. */
  secureContext: tls.SecureContext;
  /** The tentacle's own thumbprint (named when a node does not trust it). */
  tentacleThumbprint: string;
  subscriptionId: string;
  timeouts: ConnectionTimeouts;
  services: RequestHandler;
  sink: EventSink;
  localAddress?: string;
  /** Preamble form (CRLF by default, as Windows Tentacles send it). */
  preamble?: Buffer;
}

/** Told once how a connection attempt ended (after its 'closed' event). */
export interface ConnectionDone {
  connectionEnded(out: ConnectionOutcome): void;
}

export interface ConnectionOutcome {
  reason: 'stopped' | 'ended-by-peer' | 'error';
  wasIdentified: boolean;
  /**
   * The connection was acquired (TCP, TLS, the MX preamble written) and identification
   * began: a failure from here on is not retried quickly (src/tentacle/quick-retry.ts).
   */
  identificationBegan: boolean;
  /** The peer closed (EOF, no TLS alert) during the TLS handshake. */
  closedDuringTls?: boolean;
  /** When the attempt started (epoch ms, src/core/clock.ts). */
  startedAtMs: number;
  errorKind?: ErrorKind;
  message?: string;
  /** The error's data (status, thumbprints, node, address), as set where it was made. */
  data?: ErrorData;
}

function mismatchMessage(server: ServerEntry, presented: string): string {
  const caseOnly = server.thumbprint.toUpperCase() === presented
    ? ' The configured thumbprint differs only in letter case: Tentacle compares exactly, configure it in upper case.'
    : ' A TLS-terminating device in the path (a load balancer or proxy doing TLS offload, e.g. an ALB or an NLB TLS listener)' +
      ' or a wrong configured thumbprint is the likely cause.';
  return (
    `unexpected certificate from ${server.address}: expected thumbprint ${server.thumbprint}, ` +
    `the remote host presented ${presented}.${caseOnly}`
  );
}

function untrustedMessage(server: ServerEntry, thumbprint: string): string {
  return (
    `the remote host ${server.address} closed the connection right after this tentacle identified itself, ` +
    `without sending a byte: the node may not trust this tentacle's certificate (thumbprint ${thumbprint}) -- ` +
    'register it (Tentacle register-with) or add the thumbprint to the node; ' +
    "or this connection was over the node's per-subscription connection limit (when other connections of this subscription are served)"
  );
}

/**
 * Who issued a presented certificate that is not self-signed (its issuer's CN or O): names the
 * CA of a TLS-inspecting proxy. Node certificates are self-signed, so they give none.
 */
function issuerName(cert: X509Certificate | undefined): string | undefined {
  if (!cert) return undefined;
  // Distinguished names as node:crypto prints them: one "KEY=value" per line.
  const name = (dn: string) => /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1] ?? /(?:^|\n)O=([^\n]*)/.exec(dn)?.[1] ?? '';
  const issuer = name(cert.issuer);
  return issuer !== '' && issuer !== name(cert.subject) ? issuer : undefined;
}

/**
 * The thumbprint of the certificate the node presented. getPeerX509Certificate wraps the
 * peer's certificate as it is; getPeerCertificate() would first build the whole parsed object
 * (subject, issuer, key modulus as hex, ...) only for its DER bytes -- about ten times the cost,
 * once per handshake.
 */
function presentedCertificate(s: tls.TLSSocket): { thumbprint: string; cert: X509Certificate | undefined } {
  // Read once: on Node 20 a second getPeerX509Certificate() (or getPeerCertificate()) on the
  // same socket answers nothing.
  const cert = s.getPeerX509Certificate();
  return { thumbprint: cert ? thumbprintOfDer(cert.raw) : '(no certificate)', cert };
}

/** Socket errors are reported through the session or the connect/TLS promises; this keeps late ones from crashing (one function for every connection). */
function ignoreSocketError(): void {}

/**
 * The node is accepted by its pinned thumbprint only (checked after the handshake). One function
 * for every connection: node:tls keeps the connect options for the socket's whole life, so an
 * arrow made inside #secure kept that handshake's closures, context and spent Timeout alive
 * while the connection was held.
 */
function acceptAnyServerIdentity(): undefined {
  return undefined;
}

const HTTP_HINT =
  ' -- an HTTP (layer-7) load balancer or proxy is in the path; polling needs TCP pass-through to the node';

/**
 * One polling connection attempt, from TCP connect to close: connect, TLS with the
 * tentacle's certificate and the node's thumbprint pinned, then the subscriber session
 * (src/halibut). For a `wss://` server entry the session runs over a WebSocket
 * (src/tentacle/websocket-transport.ts): the thumbprint is checked after the upgrade and a
 * mismatch closes with 1002, as a Windows Tentacle does. It is its own SubscriberHooks, so a connection costs one object and a
 * handful of listeners. Emits connect-start, tcp-connected, tls-done, identified, polled,
 * answered and exactly one closed.
 */
export class PollingConnection implements SubscriberHooks, SessionDone {
  readonly #o: PollingConnectionOptions;
  isIdentified = false;
  #identificationBegan = false;
  #closedDuringTls = false;
  #isSecured = false;
  /** The secured stream the session runs on, once there is one (END is written to it on disposal). */
  #secured: Duplex | null = null;
  /** The session failed without a byte from the node (untrusted, or over the node's cap). */
  #receivedNothing = false;
  #raw: net.Socket | null = null;
  #tls: tls.TLSSocket | null = null;
  #ws: WebSocketStream | null = null;
  #tlsStartedAt = 0;
  #startedAtMs = 0;
  #signal: AbortSignal | null = null;
  #done: ConnectionDone | null = null;
  #stoppedByCaller = false;
  #session: SessionHandle | null = null;

  constructor(o: PollingConnectionOptions) {
    this.#o = o;
  }

  // ---------- SubscriberHooks ----------

  identifying(): void {
    this.#identificationBegan = true;
  }

  identified(): void {
    this.isIdentified = true;
    const o = this.#o;
    o.sink({ type: 'identified', at: now(), tentacle: o.tentacle, entry: o.entry, conn: o.conn });
  }

  polled(kind: 'null' | 'request', request?: RequestMessage | null): void {
    const o = this.#o;
    o.sink({ type: 'polled', at: now(), tentacle: o.tentacle, entry: o.entry, conn: o.conn, kind, ...(request ? { service: request.service, method: request.method } : {}) });
  }

  async handle(request: RequestMessage, streams: ReceivedDataStream[]): Promise<{ response: ResponseMessage; streams?: OutgoingDataStream[] }> {
    const s = this.#o.services;
    return s.handleWithStreams ? s.handleWithStreams(request, streams) : { response: await s.handle(request) };
  }

  receivedNothing(): void {
    this.#receivedNothing = true;
  }

  answered(request: RequestMessage, response: ResponseMessage): void {
    const o = this.#o;
    o.sink({
      type: 'answered', at: now(), tentacle: o.tentacle, entry: o.entry, conn: o.conn,
      service: request.service, method: request.method, ok: response.error === null,
    });
  }

  // ---------- the attempt ----------

  /** One attempt; resolves (never rejects) with how it ended, after its 'closed' event. */
  run(signal: AbortSignal): Promise<ConnectionOutcome> {
    return new Promise<ConnectionOutcome>((resolve) => this.start(signal, { connectionEnded: resolve }));
  }

  /**
   * run() without a promise: `done.connectionEnded` is called once, after the 'closed' event
   * (synchronously only when `signal` had already aborted). Connect, TLS and the upgrade are a
   * short async step; from then on the connection is driven by callbacks (the session reports to
   * sessionEnded, the reader to the session), so a held connection keeps no suspended async
   * frame, promise, Timeout or closure of its own. With `stoppedByCaller` the session adds no
   * listener to `signal`: the caller calls stop() when it aborts.
   * Measured with bench/heap-hold.ts (500 tentacles x 3 nodes held on the embedded cluster, this
   * 2-core machine; the fleet process's JS heap after GC per held connection), step by step:
   * 12.9 KiB before; 8.9 with one shared read-deadline timer, the TLS options no longer keeping
   * the handshake's closures and spent Timeout, and the idle wait on the reader instead of three
   * suspended read frames; 7.6 with the reader's listeners bound instead of class-field arrows;
   * 6.3 with session, connection and loop driven by callbacks instead of suspended frames; 5.3
   * with the session as the reader's waiter (no promise for the idle wait); 5.3 with one abort
   * listener per tentacle instead of one per session (within the rounding); 4.6 with one
   * TLSSocket making the TCP connection itself instead of a net.Socket wrapped by it (#secure).
   * What is left is mostly node's own TLS socket (TLSSocket, TLSWrap, TCP, its stream states
   * and listeners); ours is the reader, session, connection, loop and back-off clock, under 1 KiB.
   */
  start(signal: AbortSignal, done: ConnectionDone, stoppedByCaller = false): void {
    const o = this.#o;
    const startedAtMs = now();
    this.#startedAtMs = startedAtMs;
    this.#signal = signal;
    this.#done = done;
    this.#stoppedByCaller = stoppedByCaller;
    o.sink({ type: 'connect-start', at: startedAtMs, tentacle: o.tentacle, entry: o.entry, conn: o.conn });
    if (signal.aborted) {
      this.#end({ reason: 'stopped', wasIdentified: false, identificationBegan: false, startedAtMs });
      return;
    }
    this.#open(signal).then(
      (secured) => this.#opened(secured, signal),
      (e: unknown) => this.#failed(e),
    );
  }

  /** TCP, the proxy tunnel if any, TLS with the thumbprint checked, the WebSocket upgrade if any. */
  async #open(signal: AbortSignal): Promise<Duplex> {
    const o = this.#o;
    let raw: net.Socket | null = null;
    if (o.server.proxy) {
      // Through an HTTP CONNECT proxy: TCP and the tunnel first, then TLS to the node inside it (thumbprint still pinned).
      raw = await this.#connect(signal);
      await openConnectTunnel(raw, o.server, o.server.proxy, o.timeouts.receiveTimeoutMs, signal);
    }
    return o.server.transport === 'websocket'
      ? await this.#upgrade(await this.#secure(raw, signal), signal)
      : await this.#secure(raw, signal);
  }

  #opened(secured: Duplex, signal: AbortSignal): void {
    const o = this.#o;
    this.#secured = secured;
    const isWebSocket = o.server.transport === 'websocket';
    // Every field in the literal (no spreads): the session keeps this object as long as the connection.
    this.#session = startSubscriberSession(
      secured,
      this,
      {
        subscriptionId: o.subscriptionId,
        receiveRequestTimeoutMs: o.timeouts.receiveRequestTimeoutMs,
        receiveTimeoutMs: o.timeouts.receiveTimeoutMs,
        heartbeatTimeoutMs: o.timeouts.heartbeatTimeoutMs,
        maxMessageBytes: o.timeouts.maxMessageBytes,
        preamble: isWebSocket ? NO_PREAMBLE : o.preamble,
      },
      signal,
      this,
      !this.#stoppedByCaller,
    );
  }

  /**
   * For a caller that started with `stoppedByCaller` (a tentacle listens on its signal once for
   * all its connections instead of one listener per session): the signal has aborted, end the
   * session's wait now. Connecting and the handshake listen on the signal themselves.
   */
  stop(): void {
    this.#session?.stop();
  }

  /** SessionDone: the session was stopped (END sent) or failed. */
  sessionEnded(end: SessionEnd | null, error: unknown): void {
    if (end === null) {
      this.#failed(error);
      return;
    }
    this.#closeGracefully(this.#secured!, end === 'stopped').then(() =>
      this.#end({ reason: end, wasIdentified: this.isIdentified, identificationBegan: this.#identificationBegan, startedAtMs: this.#startedAtMs }),
    );
  }

  #failed(e: unknown): void {
    const o = this.#o;
    const startedAtMs = this.#startedAtMs;
    this.#disposeAfterError();
    const began = this.#identificationBegan;
    if (this.#signal!.aborted) {
      this.#end({ reason: 'stopped', wasIdentified: this.isIdentified, identificationBegan: began, startedAtMs });
      return;
    }
    let errorKind = errorKindOf(e);
    let message = e instanceof Error ? e.message : String(e);
    const data: ErrorData = { ...this.#entryData(), ...errorDataOf(e) };
    if (
      this.#isSecured && !this.isIdentified && this.#receivedNothing &&
      (errorKind === 'closed.by-peer' || errorKind === 'tcp.reset')
    ) {
      errorKind = 'tls.untrusted';
      message = untrustedMessage(o.server, o.tentacleThumbprint);
    } else if (errorKind === 'protocol.http-response') {
      message += HTTP_HINT;
    }
    this.#end({
      reason: 'error', wasIdentified: this.isIdentified, identificationBegan: began, startedAtMs, errorKind, message, data,
      ...(this.#closedDuringTls ? { closedDuringTls: true } : {}),
    });
  }

  /** The 'closed' event, then the caller is told (once); the references it no longer needs are let go. */
  #end(out: ConnectionOutcome): void {
    this.#finish(out);
    const done = this.#done;
    this.#done = null;
    this.#signal = null;
    this.#session = null;
    done?.connectionEnded(out);
  }

  /** What every error of this connection is about: the server entry's address (its name may be a balancer's, not a node's). */
  #entryData(): ErrorData {
    const p = this.#o.server.proxy;
    return p ? { address: this.#o.server.address, proxy: proxyLabel(p) } : { address: this.#o.server.address };
  }

  #mismatch(presented: string, issuer?: string): PollfleetError {
    const o = this.#o;
    return new PollfleetError('tls.thumbprint-mismatch', mismatchMessage(o.server, presented), {
      ...this.#entryData(),
      expectedThumbprint: o.server.thumbprint,
      presentedThumbprint: presented,
      ...(issuer ? { presentedIssuer: issuer } : {}),
    });
  }

  #connect(signal: AbortSignal): Promise<net.Socket> {
    const o = this.#o;
    const t0 = now();
    return new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({
        // through a CONNECT proxy: TCP to the proxy; a name the fleet resolves itself (SNI routes):
        // TCP to its address. TLS still sends the entry's host name.
        host: o.server.proxy ? o.server.proxy.host : (o.server.connectHost ?? o.server.host),
        port: (o.server.proxy ?? o.server).port,
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
        noDelay: false, // Nagle on, as Tentacle has it
        keepAlive: true,
        keepAliveInitialDelay: o.timeouts.keepAliveInitialDelayMs,
      });
      this.#raw = s;
      s.on('error', ignoreSocketError);
      const done = (err: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        s.off('connect', onConnect);
        s.off('error', onError);
        if (err) reject(err);
        else resolve(s);
      };
      const onConnect = () => {
        o.sink({ type: 'tcp-connected', at: now(), tentacle: o.tentacle, entry: o.entry, conn: o.conn, durationMs: now() - t0 });
        done(null);
      };
      const onError = (e: Error) => done(e);
      const onAbort = () => done(new PollfleetError('internal', 'stopped while connecting'));
      const timer = setTimeout(
        () => done(new PollfleetError('tcp.connect-timeout', `TCP connect to ${o.server.address} did not complete within ${o.timeouts.connectTimeoutMs} ms`)),
        o.timeouts.connectTimeoutMs,
      );
      s.once('connect', onConnect);
      s.once('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * TLS with the tentacle's certificate, the node's thumbprint checked. Over `raw` (a proxy's
   * tunnel), or -- direct to the node -- one TLSSocket that makes the TCP connection itself
   * (connect timeout, `tcp-connected`, then the handshake timeout), so a held connection keeps one
   * socket object and not a net.Socket beside its TLSSocket (measured: see start()).
   */
  #secure(raw: net.Socket | null, signal: AbortSignal): Promise<tls.TLSSocket> {
    const o = this.#o;
    let t0 = now();
    this.#tlsStartedAt = t0;
    return new Promise<tls.TLSSocket>((resolve, reject) => {
      const host = o.server.host;
      const tlsOptions: tls.ConnectionOptions = {
        secureContext: o.secureContext,
        ...(net.isIP(host) === 0 ? { servername: host } : {}),
        // The tentacle presents its certificate and ignores chain and host-name errors;
        // the node is accepted by its pinned thumbprint only (checked below).
        rejectUnauthorized: false,
        checkServerIdentity: acceptAnyServerIdentity,
        minVersion: 'TLSv1.2',
      };
      const s = raw
        ? tls.connect({ socket: raw, ...tlsOptions })
        : tls.connect({
          // a name the fleet resolves itself (SNI routes): TCP to its address; TLS still sends the entry's host name.
          host: o.server.connectHost ?? host,
          port: o.server.port,
          ...(o.localAddress ? { localAddress: o.localAddress } : {}),
          ...tlsOptions,
        });
      this.#tls = s;
      s.on('error', ignoreSocketError);
      let connected = raw !== null;
      const done = (err: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        s.off('connect', onConnect);
        s.off('secureConnect', onSecure);
        s.off('error', onError);
        s.off('close', onClose);
        if (err) reject(err);
        else resolve(s);
      };
      const onConnect = () => {
        connected = true;
        // Nagle stays on (node's default, as Tentacle has it). Keep-alive once connected, as net.connect
        // applies its option: set before the socket exists, libuv would use its own 60 s delay.
        s.setKeepAlive(true, o.timeouts.keepAliveInitialDelayMs);
        const t = now();
        o.sink({ type: 'tcp-connected', at: t, tentacle: o.tentacle, entry: o.entry, conn: o.conn, durationMs: t - t0 });
        // The handshake's own clock and timeout start now, as they did after a separate TCP connect.
        t0 = now();
        this.#tlsStartedAt = t0;
        clearTimeout(timer);
        timer = setTimeout(onTimeout, o.timeouts.receiveTimeoutMs);
        s.once('close', onClose);
      };
      const onSecure = () => {
        // Over WebSockets the thumbprint is checked after the upgrade (#upgrade).
        if (o.server.transport === 'websocket') {
          done(null);
          return;
        }
        const { thumbprint: presented, cert } = presentedCertificate(s);
        // Exact, case-sensitive compare, as Tentacle does.
        if (presented !== o.server.thumbprint) {
          done(this.#mismatch(presented, issuerName(cert)));
          return;
        }
        this.#isSecured = true;
        o.sink({
          type: 'tls-done', at: now(), tentacle: o.tentacle, entry: o.entry, conn: o.conn,
          durationMs: now() - t0, protocol: s.getProtocol() ?? '', cipher: s.getCipher()?.name ?? '', peerThumbprint: presented,
        });
        done(null);
      };
      const onError = (e: Error) => done(e);
      const onClose = () => {
        this.#closedDuringTls = true;
        done(new PollfleetError('tls.handshake-failed', `${o.server.address} closed the connection during the TLS handshake`));
      };
      const onAbort = () => done(new PollfleetError('internal', connected ? 'stopped during the TLS handshake' : 'stopped while connecting'));
      const onTimeout = () =>
        done(
          connected
            ? new PollfleetError('timeout.receive', `TLS handshake with ${o.server.address} did not complete within ${o.timeouts.receiveTimeoutMs} ms`)
            : new PollfleetError('tcp.connect-timeout', `TCP connect to ${o.server.address} did not complete within ${o.timeouts.connectTimeoutMs} ms`),
        );
      let timer = setTimeout(onTimeout, connected ? o.timeouts.receiveTimeoutMs : o.timeouts.connectTimeoutMs);
      if (connected) s.once('close', onClose);
      else s.once('connect', onConnect);
      s.once('secureConnect', onSecure);
      s.once('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Polling over WebSockets: upgrade, then check the node's thumbprint (mismatch: close 1002
   * "Certificate thumbprint not recognised"), then send the text message `MX`.
   */
  async #upgrade(s: tls.TLSSocket, signal: AbortSignal): Promise<WebSocketStream> {
    const o = this.#o;
    const { host, port } = o.server;
    const ws = await upgradeToWebSocket(
      s,
      {
        address: o.server.address,
        hostHeader: `${net.isIPv6(host) ? `[${host}]` : host}:${port}`,
        path: o.server.path ?? '/',
        timeoutMs: o.timeouts.receiveTimeoutMs,
        maxFramePayload: o.timeouts.maxMessageBytes,
      },
      signal,
    );
    this.#ws = ws;
    ws.on('error', ignoreSocketError);
    const { thumbprint: presented, cert } = presentedCertificate(s);
    if (presented !== o.server.thumbprint) {
      await ws.close(CLOSE_PROTOCOL_ERROR, WEBSOCKET_THUMBPRINT_CLOSE_REASON, o.timeouts.heartbeatTimeoutMs);
      throw this.#mismatch(presented, issuerName(cert));
    }
    this.#isSecured = true;
    o.sink({
      type: 'tls-done', at: now(), tentacle: o.tentacle, entry: o.entry, conn: o.conn,
      durationMs: now() - this.#tlsStartedAt, protocol: s.getProtocol() ?? '', cipher: s.getCipher()?.name ?? '', peerThumbprint: presented,
    });
    ws.sendText(WEBSOCKET_PREAMBLE_TEXT);
    return ws;
  }

  /**
   * After END (ours or the node's): end our side. When the node ended it, wait (bounded) for
   * the close. When we are stopping, resolve once our END and FIN are handed to the kernel,
   * so a stop is not held up by a hung node; the socket is destroyed later if the node never
   * closes (an unref'd timer, so it never keeps the process alive).
   */
  #closeGracefully(s: Duplex, isStopping: boolean): Promise<void> {
    if (s.destroyed) return Promise.resolve();
    const timer = setTimeout(() => s.destroy(), this.#o.timeouts.heartbeatTimeoutMs);
    timer.unref();
    s.once('close', () => clearTimeout(timer));
    return new Promise<void>((resolve) => {
      if (isStopping) {
        s.end(() => resolve());
      } else {
        s.once('close', () => resolve());
        s.end();
      }
    });
  }

  /**
   * Dispose of a connection that failed: a Tentacle sends END on every disposal, after errors
   * too (Halibut source/Halibut/Transport/SecureConnection.cs: Dispose calls
   * EndCommunicationWithServer and ignores its failure), so when identification
   * began and the stream can still be written, END goes out first and the sockets are
   * destroyed once it is handed to the kernel (bounded by the heartbeat timeout).
   */
  #disposeAfterError(): void {
    const s = this.#secured;
    if (!s || !this.#identificationBegan || s.destroyed || !s.writable || s.writableEnded) {
      this.#destroy();
      return;
    }
    const timer = setTimeout(() => this.#destroy(), this.#o.timeouts.heartbeatTimeoutMs);
    timer.unref();
    (this.#raw ?? this.#tls)?.unref(); // a connection being disposed of never keeps the process alive
    try {
      s.end(END_LINE, () => {
        clearTimeout(timer);
        this.#destroy();
      });
    } catch {
      clearTimeout(timer);
      this.#destroy();
    }
  }

  #destroy(): void {
    this.#ws?.destroy();
    this.#tls?.destroy();
    this.#raw?.destroy();
  }

  #finish(out: ConnectionOutcome): ConnectionOutcome {
    const o = this.#o;
    o.sink({
      type: 'closed', at: now(), tentacle: o.tentacle, entry: o.entry, conn: o.conn,
      reason: out.reason, wasIdentified: out.wasIdentified,
      ...(out.errorKind !== undefined ? { errorKind: out.errorKind, message: out.message, ...out.data } : {}),
    });
    return out;
  }
}

/** One connection attempt; resolves (never rejects) with how it ended, after its 'closed' event. */
export function runPollingConnection(o: PollingConnectionOptions, signal: AbortSignal): Promise<ConnectionOutcome> {
  return new PollingConnection(o).run(signal);
}
