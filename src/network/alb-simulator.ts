import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { now } from '../core/clock.js';
import { PollfleetError } from '../core/errors.js';
import { ALB_DEFAULTS, PING_PATH } from '../scenario/defaults.js';
import type { HealthCheckSpec } from './health-check.js';
import { Lifecycle } from '../core/lifecycle.js';
import { closeServer, listenAll } from './listen.js';
import type { NetworkEvent, NetworkEventSink } from './network-event.js';
import { TargetGroup, type InitialHealth, type RegistrationState, type Target, type TargetGroupDefaults, type TargetGroupOptions, type TargetSpec } from './target-group.js';

/** A node's REST API behind the ALB. */
export interface AlbTargetSpec extends TargetSpec {
  /** Default `http`; `https` is not verified (self-signed node certificates). */
  protocol?: 'http' | 'https';
}

export type AlbRouting = 'round-robin' | 'least-outstanding';
/** `passthrough`: ask for a client certificate, accept any, forward it in X-Amzn-Mtls-Clientcert. */
export type AlbMutualTls = 'off' | 'passthrough';

export interface AlbOptions {
  /** Name in events and stats (default `alb`). */
  name?: string;
  /** Bind address (loopback in tests). */
  host?: string;
  /** 0 = chosen by the OS. */
  port?: number;
  /** The balancer's own certificate: an HTTPS listener always terminates TLS. */
  certPem: string;
  /** A secret: never logged. */
  keyPem: string;
  targets: AlbTargetSpec[];
  /** Probe settings; omitted = no probes. Defaults: HTTP GET PING_PATH, success 200, ALB_DEFAULTS timings. */
  healthCheck?: Partial<HealthCheckSpec>;
  initialHealth?: InitialHealth;
  deregistrationDelayMs?: number;
  routing?: AlbRouting;
  /** Default ALB_DEFAULTS.idleTimeoutMs (60 s); applies to client connections and WebSocket tunnels; 0 = never. */
  idleTimeoutMs?: number;
  mutualTls?: AlbMutualTls;
  onEvent?: NetworkEventSink;
}

export interface AlbTargetStats {
  name: string;
  host: string;
  port: number;
  isHealthy: boolean;
  registration: RegistrationState;
  requests: number;
  outstanding: number;
  activeTunnels: number;
  totalTunnels: number;
}

export interface AlbStats {
  name: string;
  port: number;
  idleTimeoutMs: number;
  activeConnections: number;
  /** Clients whose bytes were not HTTP (raw polling after TLS): answered 400 and closed. */
  nonHttpRejected: number;
  /** TLS handshakes that failed (e.g. a tentacle refusing the ALB's certificate). */
  tlsErrors: number;
  /** Status codes sent to clients, by code. */
  statusCounts: Record<string, number>;
  isFailOpen: boolean;
  targets: AlbTargetStats[];
}

/** The ALB's target-group defaults. [LB] */
export const ALB_TARGET_GROUP_DEFAULTS: TargetGroupDefaults = {
  healthCheckProtocol: 'http',
  healthCheckPath: PING_PATH,
  healthCheckIntervalMs: ALB_DEFAULTS.healthCheckIntervalMs,
  healthCheckTimeoutMs: ALB_DEFAULTS.healthCheckTimeoutMs,
  healthyThreshold: ALB_DEFAULTS.healthyThreshold,
  unhealthyThreshold: ALB_DEFAULTS.unhealthyThreshold,
  successCodes: '200',
  deregistrationDelayMs: ALB_DEFAULTS.deregistrationDelayMs,
};

/** Hop-by-hop headers a proxy does not forward. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Headers the ALB sets itself (a client's own values are not trusted). */
const OWN_HEADERS = new Set(['x-forwarded-proto', 'x-forwarded-port', 'x-amzn-mtls-clientcert']);
const MTLS_HEADER = 'x-amzn-mtls-clientcert';

const BAD_REQUEST_BODY = '<html><head><title>400 Bad Request</title></head><body><center><h1>400 Bad Request</h1></center></body></html>\r\n';
const BAD_REQUEST = `HTTP/1.1 400 Bad Request\r\nServer: awselb/2.0\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(BAD_REQUEST_BODY)}\r\nConnection: close\r\n\r\n${BAD_REQUEST_BODY}`;

class Backend {
  readonly target: Target<AlbTargetSpec>;
  readonly isHttps: boolean;
  readonly agent: http.Agent;
  requests = 0;
  outstanding = 0;
  activeTunnels = 0;
  totalTunnels = 0;
  readonly tunnels = new Set<net.Socket>();

  constructor(target: Target<AlbTargetSpec>) {
    this.target = target;
    this.isHttps = target.spec.protocol === 'https';
    this.agent = this.isHttps ? new https.Agent({ keepAlive: true, rejectUnauthorized: false }) : new http.Agent({ keepAlive: true });
  }
}

/**
 * An AWS ALB-like layer-7 balancer: an HTTPS listener that terminates TLS with its own
 * certificate, parses HTTP/1.1, routes each request (round robin or least outstanding)
 * over pooled keep-alive connections to healthy targets, adds X-Forwarded-*, turns a
 * WebSocket upgrade into a 1:1 tunnel, closes idle connections, and answers anything
 * that is not HTTP (raw polling bytes) with 400 and a close.
 */
export class AlbSimulator extends Lifecycle<number> {
  readonly name: string;
  readonly host: string;
  readonly routing: AlbRouting;
  readonly mutualTls: AlbMutualTls;
  readonly #group: TargetGroup<AlbTargetSpec>;
  readonly #backends = new Map<Target<AlbTargetSpec>, Backend>();
  readonly #server: https.Server;
  readonly #sockets = new Set<tls.TLSSocket>();
  readonly #statusCounts: Record<string, number> = {};
  readonly #onEvent: NetworkEventSink | undefined;
  readonly #requestedPort: number;
  readonly #clientCertHeader = new WeakMap<tls.TLSSocket, string>();
  #idleTimeoutMs: number;
  #port = 0;
  #roundRobin = 0;
  #nonHttpRejected = 0;
  #tlsErrors = 0;

  constructor(o: AlbOptions) {
    super();
    this.name = o.name ?? 'alb';
    this.host = o.host ?? '127.0.0.1';
    this.routing = o.routing ?? 'round-robin';
    this.mutualTls = o.mutualTls ?? 'off';
    this.#onEvent = o.onEvent;
    this.#requestedPort = o.port ?? 0;
    if (!Number.isInteger(this.#requestedPort) || this.#requestedPort < 0 || this.#requestedPort > 65535) {
      throw new PollfleetError('input.invalid', `${this.name} port: expected 0-65535, got ${o.port}`);
    }
    this.#idleTimeoutMs = checkIdle(o.idleTimeoutMs ?? ALB_DEFAULTS.idleTimeoutMs, `${this.name} idleTimeoutMs`);
    // an https target is probed over https unless told otherwise
    const targets = o.targets.map((t) => (t.protocol === 'https' && t.healthCheck?.protocol === undefined && (o.healthCheck?.protocol ?? 'http') === 'http'
      ? { ...t, healthCheck: { ...t.healthCheck, protocol: 'https' as const } }
      : t));
    const groupOptions: TargetGroupOptions<AlbTargetSpec> = { name: `${this.name}-tg`, targets };
    if (o.healthCheck !== undefined) groupOptions.healthCheck = o.healthCheck;
    if (o.initialHealth !== undefined) groupOptions.initialHealth = o.initialHealth;
    if (o.deregistrationDelayMs !== undefined) groupOptions.deregistrationDelayMs = o.deregistrationDelayMs;
    this.#group = new TargetGroup<AlbTargetSpec>(groupOptions, ALB_TARGET_GROUP_DEFAULTS, {
      healthChanged: (t, isHealthy, detail) => this.#emit({ type: 'health-changed', at: now(), balancer: this.name, targetGroup: this.#group.name, target: t.name, isHealthy, detail }),
      deregistrationEnded: (t) => {
        for (const s of this.#backends.get(t)!.tunnels) s.destroy();
      },
    });
    for (const t of this.#group.targets) this.#backends.set(t, new Backend(t));

    const serverOptions: https.ServerOptions = { cert: o.certPem, key: o.keyPem };
    if (this.mutualTls === 'passthrough') {
      serverOptions.requestCert = true;
      serverOptions.rejectUnauthorized = false;
    }
    this.#server = https.createServer(serverOptions, (req, res) => this.#onRequest(req, res));
    // Node's own keep-alive timer adds a 1 s grace and is reset per request: the ALB's idle
    // timeout is one timer per client connection instead, refreshed by Node on every read and write.
    this.#server.timeout = 0;
    this.#server.keepAliveTimeout = 0;
    this.#server.on('secureConnection', (s: tls.TLSSocket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
      s.on('timeout', () => s.destroy());
      if (this.#idleTimeoutMs > 0) s.setTimeout(this.#idleTimeoutMs);
    });
    this.#server.on('tlsClientError', () => { this.#tlsErrors++; });
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket) => this.#onClientError(err, socket));
    this.#server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.#onUpgrade(req, socket, head));
  }

  /** Listen; resolves with the actual port. */
  protected async onStart(): Promise<number> {
    const [port] = await listenAll([{ server: this.#server, port: this.#requestedPort }], this.host, this.name);
    this.#port = port!;
    this.#group.start();
    return this.#port;
  }

  /** Stop listening and probing; close every client connection, tunnel and pooled connection. */
  protected async onStop(): Promise<void> {
    this.#group.stop();
    const closed = closeServer(this.#server);
    for (const s of this.#sockets) s.destroy();
    for (const b of this.#backends.values()) {
      for (const s of b.tunnels) s.destroy();
      b.agent.destroy();
    }
    this.#server.closeAllConnections();
    await closed;
  }

  get port(): number {
    return this.#port;
  }

  get idleTimeoutMs(): number {
    return this.#idleTimeoutMs;
  }

  /** Change the idle timeout for new and existing client connections (0 = never). */
  setIdleTimeout(ms: number): void {
    this.#idleTimeoutMs = checkIdle(ms, `${this.name} idleTimeoutMs`);
    for (const s of this.#sockets) s.setTimeout(ms);
  }

  deregister(targetName: string): void {
    this.#group.deregister(targetName);
  }

  register(targetName: string): void {
    this.#group.register(targetName);
  }

  setHealth(targetName: string, isHealthy: boolean): void {
    this.#group.setHealth(targetName, isHealthy);
  }

  stats(): AlbStats {
    return {
      name: this.name,
      port: this.#port,
      idleTimeoutMs: this.#idleTimeoutMs,
      activeConnections: this.#sockets.size,
      nonHttpRejected: this.#nonHttpRejected,
      tlsErrors: this.#tlsErrors,
      statusCounts: { ...this.#statusCounts },
      isFailOpen: this.#group.isFailOpen,
      targets: [...this.#backends.values()].map((b) => ({
        name: b.target.name, host: b.target.host, port: b.target.port, isHealthy: b.target.isHealthy, registration: b.target.state,
        requests: b.requests, outstanding: b.outstanding, activeTunnels: b.activeTunnels, totalTunnels: b.totalTunnels,
      })),
    };
  }

  // ---------- internals ----------

  #choose(): Backend | undefined {
    const eligible = this.#group.eligible;
    const n = eligible.length;
    if (n === 0) return undefined;
    const start = this.#roundRobin++ % n;
    if (this.routing === 'round-robin') return this.#backends.get(eligible[start]!);
    let best: Backend | undefined;
    for (let i = 0; i < n; i++) {
      const b = this.#backends.get(eligible[(start + i) % n]!)!;
      if (best === undefined || b.outstanding < best.outstanding) best = b;
    }
    return best;
  }

  #count(status: number): void {
    const key = String(status);
    this.#statusCounts[key] = (this.#statusCounts[key] ?? 0) + 1;
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.once('finish', () => this.#count(res.statusCode));
    const b = this.#choose();
    if (!b) {
      res.writeHead(503, { 'content-type': 'text/plain', connection: 'close' }).end('503 Service Temporarily Unavailable\n');
      return;
    }
    b.requests++;
    b.outstanding++;
    let isDone = false;
    const done = (): void => {
      if (isDone) return;
      isDone = true;
      b.outstanding--;
    };
    res.once('close', done);
    const options: https.RequestOptions = {
      host: b.target.host,
      port: b.target.port,
      method: req.method,
      path: req.url,
      headers: this.#forwardHeaders(req),
      agent: b.agent,
    };
    const upstream = (b.isHttps ? https : http).request(options, (up) => {
      const headers: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(up.headers)) {
        if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
      }
      res.writeHead(up.statusCode ?? 502, headers);
      up.pipe(res);
      up.once('error', () => res.destroy());
    });
    upstream.once('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('502 Bad Gateway\n');
      else res.destroy();
    });
    res.once('close', () => {
      if (!upstream.writableFinished || !res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  #forwardHeaders(req: http.IncomingMessage, keepUpgrade = false): http.OutgoingHttpHeaders {
    const out: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || OWN_HEADERS.has(k) || k === 'x-forwarded-for') continue;
      if (!keepUpgrade && HOP_BY_HOP.has(k)) continue;
      out[k] = v;
    }
    const socket = req.socket as tls.TLSSocket;
    const clientIp = socket.remoteAddress ?? '';
    const prior = req.headers['x-forwarded-for'];
    out['x-forwarded-for'] = prior ? `${prior}, ${clientIp}` : clientIp;
    out['x-forwarded-proto'] = 'https';
    out['x-forwarded-port'] = String(this.#port);
    if (this.mutualTls === 'passthrough') {
      const cert = this.#clientCertOf(socket);
      if (cert) out[MTLS_HEADER] = cert;
    }
    return out;
  }

  /** The client's certificate as URL-encoded PEM (once per connection), or '' when it sent none. */
  #clientCertOf(socket: tls.TLSSocket): string {
    let v = this.#clientCertHeader.get(socket);
    if (v === undefined) {
      const raw = socket.getPeerCertificate?.(false)?.raw;
      v = raw ? encodeURIComponent(`-----BEGIN CERTIFICATE-----\n${raw.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`) : '';
      this.#clientCertHeader.set(socket, v);
    }
    return v;
  }

  #onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const isParseError = typeof err.code === 'string' && err.code.startsWith('HPE_');
    if (isParseError && socket.writable) {
      this.#nonHttpRejected++;
      this.#count(400);
      socket.end(BAD_REQUEST, () => socket.destroy());
      return;
    }
    socket.destroy();
  }

  #onUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const b = this.#choose();
    if (!b) {
      this.#count(503);
      socket.end('HTTP/1.1 503 Service Temporarily Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    b.requests++;
    b.activeTunnels++;
    b.totalTunnels++;
    b.tunnels.add(socket);
    const t = b.target;
    const up: net.Socket = b.isHttps
      ? tls.connect({ host: t.host, port: t.port, rejectUnauthorized: false })
      : net.connect({ host: t.host, port: t.port });
    up.setNoDelay(true);
    socket.setNoDelay(true);
    let lines = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(this.#forwardHeaders(req, true))) {
      if (Array.isArray(v)) for (const x of v) lines += `${k}: ${x}\r\n`;
      else lines += `${k}: ${String(v)}\r\n`;
    }
    up.write(`${lines}\r\n`);
    if (head.length > 0) up.write(head);
    socket.pipe(up);
    up.pipe(socket);
    let isClosed = false;
    const close = (): void => {
      if (isClosed) return;
      isClosed = true;
      b.activeTunnels--;
      b.tunnels.delete(socket);
      socket.destroy();
      up.destroy();
    };
    up.on('error', close);
    socket.on('error', close);
    up.once('close', close);
    socket.once('close', close);
    // the tunnel's idle timer: the client socket's, refreshed by traffic both ways
    socket.setTimeout(this.#idleTimeoutMs);
    socket.on('timeout', close);
  }

  #emit(e: NetworkEvent): void {
    this.#onEvent?.(e);
  }
}

function checkIdle(ms: number, field: string): number {
  if (!(Number.isFinite(ms) && ms >= 0)) throw new PollfleetError('input.invalid', `${field}: expected a number of milliseconds >= 0, got ${ms}`);
  return ms;
}
