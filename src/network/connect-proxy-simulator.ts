import * as net from 'node:net';
import * as tls from 'node:tls';
import { Lifecycle } from '../core/lifecycle.js';
import { generateCertificate, type CertificateIdentity } from '../pki/certificate.js';
import { closeServer, listenAll } from './listen.js';

/**
 * A small HTTP CONNECT proxy in the shape of the corporate proxies polling Tentacles meet
 * (reference load-balancers.md, "HTTP CONNECT proxy"): it opens a tunnel for
 * `CONNECT host:port` and can, on purpose, answer the way real ones break polling:
 * - deny CONNECT to some ports with 403 (Squid's `http_access deny CONNECT !SSL_ports`);
 * - demand Basic authentication with 407;
 * - cut tunnels after a while (a proxy's idle or lifetime timeout);
 * - inspect TLS: terminate the tentacle's TLS with a certificate issued by its own CA for
 *   the node's name, and open its own TLS connection to the node (the tentacle sees the
 *   proxy's certificate instead of the node's).
 * Tunnels go to loopback destinations only (tests never send traffic elsewhere).
 */
export interface ConnectProxySimulatorOptions {
  /** Names it in errors (default `connect-proxy`). */
  name?: string;
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** 0 = a free port (see `port` after start). */
  port?: number;
  /** CONNECT to these destination ports is answered 403 Forbidden. */
  denyPorts?: readonly number[];
  /** Basic credentials every CONNECT must carry (407 Proxy Authentication Required otherwise); null = none needed. */
  auth?: { username: string; password: string } | null;
  /** Close every tunnel this long after it opened; 0 = never. */
  cutTunnelsAfterMs?: number;
  /** Terminate TLS inside tunnels with certificates issued by this CA (generated at start when `true`). */
  inspectTls?: boolean | CertificateIdentity;
  /** Common name of the CA generated for `inspectTls: true`. */
  caCommonName?: string;
  /** A CONNECT request head larger than this is refused (400). */
  maxHeadBytes?: number;
}

export interface ConnectProxyStats {
  /** CONNECT requests received. */
  requests: number;
  /** Answered 403 (a denied port or a non-loopback destination). */
  denied: number;
  /** Answered 407. */
  authRequired: number;
  /** Tunnels opened (200 sent). */
  tunnels: number;
  /** Tunnels closed by `cutTunnelsAfterMs`. */
  cut: number;
  /** Tunnels whose TLS the proxy terminated (inspectTls). */
  inspected: number;
  /** The destination could not be reached (502). */
  badGateway: number;
}

const DEFAULT_MAX_HEAD_BYTES = 16 * 1024;
const DEFAULT_CA_NAME = 'pollfleet inspecting proxy CA';

function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost';
}

/** `host:port` or `[v6]:port` of a CONNECT request target; null when it is not one. */
export function parseConnectTarget(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]/]+)):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2]!, port };
}

function answer(socket: net.Socket, status: number, reason: string, headers: string[] = []): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${headers.map((h) => `${h}\r\n`).join('')}Content-Length: 0\r\nConnection: close\r\n\r\n`);
}

export class ConnectProxySimulator extends Lifecycle<number> {
  readonly name: string;
  readonly #o: ConnectProxySimulatorOptions;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #stats: ConnectProxyStats = { requests: 0, denied: 0, authRequired: 0, tunnels: 0, cut: 0, inspected: 0, badGateway: 0 };
  #ca: CertificateIdentity | null = null;
  /** Stand-in certificates by destination host, issued once each. */
  readonly #issued = new Map<string, Promise<CertificateIdentity>>();
  port = 0;

  constructor(o: ConnectProxySimulatorOptions = {}) {
    super();
    this.#o = o;
    this.name = o.name ?? 'connect-proxy';
    this.#server = net.createServer((s) => this.#onClient(s));
  }

  get host(): string {
    return this.#o.host ?? '127.0.0.1';
  }

  /** The CA whose certificates replace the nodes' when inspecting TLS (null otherwise). */
  get ca(): CertificateIdentity | null {
    return this.#ca;
  }

  stats(): ConnectProxyStats {
    return { ...this.#stats };
  }

  protected async onStart(): Promise<number> {
    const inspect = this.#o.inspectTls;
    if (inspect === true) this.#ca = await generateCertificate({ commonName: this.#o.caCommonName ?? DEFAULT_CA_NAME, isCa: true });
    else if (inspect) this.#ca = inspect;
    [this.port] = await listenAll([{ server: this.#server, port: this.#o.port ?? 0 }], this.host, this.name) as [number];
    return this.port;
  }

  protected async onStop(): Promise<void> {
    const closing = closeServer(this.#server);
    for (const s of this.#sockets) s.destroy();
    await closing;
  }

  #track(s: net.Socket): void {
    this.#sockets.add(s);
    s.once('close', () => this.#sockets.delete(s));
    s.on('error', () => undefined);
  }

  #onClient(client: net.Socket): void {
    this.#track(client);
    const max = this.#o.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES;
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > max) {
          client.off('data', onData);
          answer(client, 400, 'Bad Request');
        }
        return;
      }
      client.off('data', onData);
      client.pause();
      this.#onRequest(client, head.subarray(0, end).toString('latin1'), head.subarray(end + 4));
    };
    client.on('data', onData);
  }

  #onRequest(client: net.Socket, head: string, rest: Buffer): void {
    const [requestLine = '', ...headerLines] = head.split('\r\n');
    const [method, target] = requestLine.split(' ');
    if (method !== 'CONNECT') {
      answer(client, 405, 'Method Not Allowed', ['Allow: CONNECT']);
      return;
    }
    this.#stats.requests++;
    const dest = parseConnectTarget(target ?? '');
    if (!dest) {
      answer(client, 400, 'Bad Request');
      return;
    }
    const auth = this.#o.auth;
    if (auth) {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
      const given = headerLines.find((l) => /^proxy-authorization:/i.test(l))?.slice('proxy-authorization:'.length).trim();
      if (given !== expected) {
        this.#stats.authRequired++;
        answer(client, 407, 'Proxy Authentication Required', ['Proxy-Authenticate: Basic realm="pollfleet"']);
        return;
      }
    }
    if ((this.#o.denyPorts ?? []).includes(dest.port) || !isLoopback(dest.host)) {
      this.#stats.denied++;
      answer(client, 403, 'Forbidden');
      return;
    }
    const upstream = net.connect({ host: dest.host, port: dest.port });
    this.#track(upstream);
    const onFail = () => {
      this.#stats.badGateway++;
      answer(client, 502, 'Bad Gateway');
    };
    upstream.once('error', onFail);
    upstream.once('connect', () => {
      upstream.off('error', onFail);
      this.#stats.tunnels++;
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (rest.length) client.unshift(rest);
      const cutMs = this.#o.cutTunnelsAfterMs ?? 0;
      if (cutMs > 0) {
        const timer = setTimeout(() => {
          this.#stats.cut++;
          client.destroy();
          upstream.destroy();
        }, cutMs);
        timer.unref();
        client.once('close', () => clearTimeout(timer));
      }
      if (!this.#ca) {
        this.#splice(client, upstream);
        return;
      }
      // Only TLS is inspected (a ClientHello starts with the handshake record type 0x16);
      // plain HTTP in a tunnel (registration to an http:// REST API) passes untouched.
      client.once('data', (first: Buffer) => {
        client.pause();
        client.unshift(first);
        if (first[0] === 0x16) void this.#inspect(client, upstream, dest.host);
        else this.#splice(client, upstream);
      });
      client.resume();
    });
  }

  /** Bytes both ways until either side closes. */
  #splice(a: net.Socket | tls.TLSSocket, b: net.Socket | tls.TLSSocket): void {
    a.pipe(b);
    b.pipe(a);
    a.once('close', () => b.destroy());
    b.once('close', () => a.destroy());
    a.resume();
  }

  /** Terminate the tentacle's TLS with a stand-in certificate, open TLS to the node, pass the plain bytes. */
  async #inspect(client: net.Socket, upstream: net.Socket, host: string): Promise<void> {
    const ca = this.#ca!;
    let issued = this.#issued.get(host);
    if (!issued) {
      issued = generateCertificate({ commonName: host, issuer: ca });
      this.#issued.set(host, issued);
    }
    let cert: CertificateIdentity;
    try {
      cert = await issued;
    } catch {
      client.destroy();
      upstream.destroy();
      return;
    }
    if (client.destroyed || upstream.destroyed) return;
    this.#stats.inspected++;
    // Ask for the tentacle's certificate as a node would; the proxy cannot forward it.
    const front = new tls.TLSSocket(client, { isServer: true, cert: cert.certPem, key: cert.keyPem, ca: [ca.certPem], requestCert: true, rejectUnauthorized: false });
    const back = tls.connect({ socket: upstream, rejectUnauthorized: false, checkServerIdentity: () => undefined });
    front.on('error', () => undefined);
    back.on('error', () => undefined);
    client.resume();
    this.#splice(front, back);
  }
}
