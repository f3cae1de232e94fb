import * as net from 'node:net';
import * as tls from 'node:tls';
import { PollfleetError } from '../core/errors.js';
import { Lifecycle } from '../core/lifecycle.js';
import { SNI_DEFAULTS } from '../scenario/defaults.js';
import { closeServer, listenAll } from './listen.js';

/**
 * An SNI router on one address and port (443 in real life), as HAProxy `mode tcp` with
 * `req.ssl_sni`, nginx `stream` with `ssl_preread` or ingress-nginx `ssl-passthrough` do it:
 * it reads the TLS ClientHello, takes the server name (SNI) from it, and forwards the
 * untouched byte stream -- ClientHello included -- to the target that name maps to. A name
 * without a mapping, or a ClientHello without a name, is closed (HAProxy without a default
 * backend). A name that maps to several targets is balanced round robin (Octopus Cloud's
 * one name in front of every node).
 *
 * `mode: 'http'` is the classic mistake instead: an HTTP-mode reverse proxy that terminates
 * TLS on 443 with its own certificate (the tentacle sees that certificate and refuses it)
 * and answers anything that is not HTTP with 400.
 */

export interface SniTarget {
  name: string;
  host: string;
  port: number;
}

export interface SniRoute {
  /** The server name, matched case-insensitively. */
  name: string;
  /** Where its connections go, round robin; empty = the router has no mapping for it. */
  targets: SniTarget[];
}

export interface SniRouterOptions {
  /** Name in errors (default `sni-router`). */
  name?: string;
  host?: string;
  /** 0 = a free port. */
  port: number;
  routes: SniRoute[];
  mode?: 'passthrough' | 'http';
  /** The router's own certificate (http mode only). */
  certPem?: string;
  keyPem?: string;
  /** How long to wait for the whole ClientHello (SNI_DEFAULTS.inspectDelayMs). */
  inspectDelayMs?: number;
}

export interface SniRouterStats {
  /** Connections per server name and the target each reached: { 'polling2.example.test': { node1: 4 } }. */
  routed: Record<string, Record<string, number>>;
  /** Connections closed because their name had no mapping, per name. */
  unmapped: Record<string, number>;
  /** Connections closed without a readable ClientHello or without a name in it. */
  noSni: number;
  /** http mode: TLS sessions the router terminated itself. */
  terminated: number;
}

/** Why a buffer does not (yet) give a server name. */
export type SniParse = { kind: 'name'; name: string } | { kind: 'no-name' } | { kind: 'need-more' } | { kind: 'not-tls' };

/**
 * The server name of a TLS ClientHello at the start of `buf` (RFC 8446 4.1.2, RFC 6066 3):
 * record header (type 22), handshake type 1, version, random, session id, cipher suites,
 * compression methods, then the extensions; server_name is extension 0 with one host_name
 * entry (type 0). The ClientHello is expected in the first record (as every TLS stack sends it).
 */
export function parseClientHelloSni(buf: Buffer): SniParse {
  if (buf.length < 5) return buf.length > 0 && buf[0] !== 0x16 ? { kind: 'not-tls' } : { kind: 'need-more' };
  if (buf[0] !== 0x16 || buf[1] !== 0x03) return { kind: 'not-tls' };
  const recordLen = buf.readUInt16BE(3);
  if (buf.length < 5 + recordLen) return { kind: 'need-more' };
  const rec = buf.subarray(5, 5 + recordLen);
  if (rec[0] !== 0x01 || rec.length < 4) return { kind: 'not-tls' };
  let p = 4 + 2 + 32; // handshake header, client_version, random
  const need = (n: number) => p + n <= rec.length;
  if (!need(1)) return { kind: 'no-name' };
  p += 1 + rec[p]!; // session id
  if (!need(2)) return { kind: 'no-name' };
  p += 2 + rec.readUInt16BE(p); // cipher suites
  if (!need(1)) return { kind: 'no-name' };
  p += 1 + rec[p]!; // compression methods
  if (!need(2)) return { kind: 'no-name' };
  const end = Math.min(rec.length, p + 2 + rec.readUInt16BE(p));
  p += 2;
  while (p + 4 <= end) {
    const type = rec.readUInt16BE(p);
    const len = rec.readUInt16BE(p + 2);
    p += 4;
    if (type === 0 && p + len <= end && len >= 5) {
      // server_name_list length (2), then entries of type (1), length (2), name
      let q = p + 2;
      const listEnd = Math.min(p + len, q + rec.readUInt16BE(p));
      while (q + 3 <= listEnd) {
        const nameType = rec[q]!;
        const nameLen = rec.readUInt16BE(q + 1);
        if (nameType === 0 && q + 3 + nameLen <= listEnd) return { kind: 'name', name: rec.subarray(q + 3, q + 3 + nameLen).toString('ascii').toLowerCase() };
        q += 3 + nameLen;
      }
      return { kind: 'no-name' };
    }
    p += len;
  }
  return { kind: 'no-name' };
}

export class SniRouterSimulator extends Lifecycle<number> {
  readonly name: string;
  readonly host: string;
  readonly mode: 'passthrough' | 'http';
  readonly #o: SniRouterOptions;
  readonly #server: net.Server;
  readonly #routes = new Map<string, { targets: SniTarget[]; next: number }>();
  readonly #sockets = new Set<net.Socket>();
  readonly #tlsServer: tls.Server | null = null;
  #port = 0;
  readonly #stats: SniRouterStats = { routed: {}, unmapped: {}, noSni: 0, terminated: 0 };

  constructor(o: SniRouterOptions) {
    super();
    this.name = o.name ?? 'sni-router';
    this.host = o.host ?? '127.0.0.1';
    this.mode = o.mode ?? 'passthrough';
    this.#o = o;
    for (const r of o.routes) this.#routes.set(r.name.toLowerCase(), { targets: r.targets, next: 0 });
    if (this.mode === 'http') {
      if (!o.certPem || !o.keyPem) throw new PollfleetError('input.invalid', `${this.name}: http mode terminates TLS and needs certPem and keyPem`);
      this.#tlsServer = tls.createServer({ cert: o.certPem, key: o.keyPem, minVersion: 'TLSv1.2' }, (s) => this.#answerHttp(s));
      this.#tlsServer.on('tlsClientError', () => undefined);
    }
    this.#server = net.createServer({ allowHalfOpen: false }, (s) => this.#accept(s));
  }

  protected async onStart(): Promise<number> {
    [this.#port] = await listenAll([{ server: this.#server, port: this.#o.port }], this.host, this.name);
    return this.#port;
  }

  protected async onStop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await closeServer(this.#server);
  }

  get port(): number {
    return this.#port;
  }

  stats(): SniRouterStats {
    return structuredClone(this.#stats);
  }

  #track(s: net.Socket): void {
    this.#sockets.add(s);
    s.on('close', () => this.#sockets.delete(s));
    s.on('error', () => s.destroy());
  }

  #accept(client: net.Socket): void {
    this.#track(client);
    if (this.#tlsServer) {
      // http mode: TLS ends here, with the router's own certificate
      this.#stats.terminated++;
      this.#tlsServer.emit('connection', client);
      return;
    }
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      this.#stats.noSni++;
      client.destroy();
    }, this.#o.inspectDelayMs ?? SNI_DEFAULTS.inspectDelayMs);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const parsed = buf.length > SNI_DEFAULTS.maxClientHelloBytes ? { kind: 'not-tls' as const } : parseClientHelloSni(buf);
      if (parsed.kind === 'need-more') return;
      clearTimeout(timer);
      client.off('data', onData);
      client.pause();
      if (parsed.kind !== 'name') {
        this.#stats.noSni++;
        client.destroy();
        return;
      }
      this.#forward(client, parsed.name, buf);
    };
    client.on('data', onData);
    client.on('close', () => clearTimeout(timer));
  }

  #forward(client: net.Socket, name: string, hello: Buffer): void {
    const route = this.#routes.get(name);
    if (!route || route.targets.length === 0) {
      this.#stats.unmapped[name] = (this.#stats.unmapped[name] ?? 0) + 1;
      client.destroy();
      return;
    }
    const target = route.targets[route.next++ % route.targets.length]!;
    const perName = (this.#stats.routed[name] ??= {});
    perName[target.name] = (perName[target.name] ?? 0) + 1;
    const up = net.connect({ host: target.host, port: target.port, noDelay: true });
    this.#track(up);
    up.write(hello);
    client.pipe(up);
    up.pipe(client);
    client.resume();
    const closeBoth = () => {
      client.destroy();
      up.destroy();
    };
    client.on('close', closeBoth);
    up.on('close', closeBoth);
  }

  /** http mode: whatever arrives, an HTTP 400 (raw polling bytes are not HTTP), then close. */
  #answerHttp(s: tls.TLSSocket): void {
    s.on('error', () => s.destroy());
    s.once('data', () => {
      s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
  }
}
