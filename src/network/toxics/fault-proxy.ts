import * as net from 'node:net';
import { Lifecycle } from '../../core/lifecycle.js';
import { closeServer, listenAll } from '../listen.js';
import { resetSocket } from '../reset-socket.js';
import { END_OF_STREAM, Link } from './link.js';
import { TOXICS } from './toxic-registry.js';
import type { LinkControl, ToxicKind, ToxicParams } from './toxic.js';

/** upstream = tentacle -> node, downstream = node -> tentacle. */
export type ToxicDirection = 'upstream' | 'downstream' | 'both';

export interface ToxicOptions {
  direction: ToxicDirection;
  /** Share of connections hit (0..1), spread evenly over connections in arrival order. */
  share: number;
}

export interface FaultProxyOptions {
  name: string;
  /** Bind address (loopback). */
  host: string;
  /** 0 = chosen by the OS. */
  port: number;
  upstream: { host: string; port: number };
  /** The proxy's connection to the node must be up within this, else the client is reset. */
  connectTimeoutMs: number;
}

interface ActiveToxic {
  id: number;
  kind: ToxicKind;
  params: ToxicParams;
  options: ToxicOptions;
  /** Connections seen so far (for the even spread of `share`). */
  seen: number;
}

/** One client connection and its connection to the node. */
class ProxiedConnection implements LinkControl {
  readonly up: Link;
  readonly down: Link;
  #closed = false;
  readonly #client: net.Socket;
  readonly #server: net.Socket;
  readonly #onGone: (c: ProxiedConnection) => void;

  constructor(client: net.Socket, server: net.Socket, onGone: (c: ProxiedConnection) => void) {
    this.#client = client;
    this.#server = server;
    this.#onGone = onGone;
    this.up = new Link((b) => this.#write(server, client, b));
    this.down = new Link((b) => this.#write(client, server, b));
    client.on('data', (b: Buffer) => this.up.push(b));
    server.on('data', (b: Buffer) => this.down.push(b));
    client.on('end', () => this.up.push(END_OF_STREAM));
    server.on('end', () => this.down.push(END_OF_STREAM));
    // an RST (or any error) on one side passes through as an RST to the other
    client.on('error', () => this.reset());
    server.on('error', () => this.reset());
    client.on('close', () => this.#gone());
    server.on('close', () => this.#gone());
  }

  #write(to: net.Socket, from: net.Socket, b: Buffer): void {
    if (to.destroyed || to.writableEnded) return;
    if (b === END_OF_STREAM) {
      to.end();
      return;
    }
    if (!to.write(b)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  }

  reset(): void {
    if (this.#closed) return;
    this.#closed = true;
    resetSocket(this.#client);
    resetSocket(this.#server);
    this.#gone();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.end();
    this.#server.end();
    this.#client.destroySoon();
    this.#server.destroySoon();
  }

  #gone(): void {
    this.up.dispose();
    this.down.dispose();
    this.#onGone(this);
  }
}

/**
 * A Toxiproxy-like TCP pass-through between the fleet and one node: bytes pass untouched
 * (TLS end to end) until toxics are added -- per direction, on a share of connections --
 * and removed again. Also resets connections on demand (a real RST).
 */
export class FaultProxy extends Lifecycle<number> {
  readonly name: string;
  readonly #o: FaultProxyOptions;
  readonly #server: net.Server;
  readonly #connections = new Set<ProxiedConnection>();
  readonly #toxics = new Map<number, ActiveToxic>();
  #nextId = 1;
  #port = 0;

  constructor(o: FaultProxyOptions) {
    super();
    this.name = o.name;
    this.#o = o;
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true });
    this.#server.on('connection', (c) => this.#accept(c));
  }

  get port(): number {
    return this.#port;
  }

  get host(): string {
    return this.#o.host;
  }

  /** Open proxied connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  protected async onStart(): Promise<number> {
    const [port] = await listenAll([{ server: this.#server, port: this.#o.port }], this.#o.host, this.name);
    this.#port = port!;
    return this.#port;
  }

  protected async onStop(): Promise<void> {
    for (const c of [...this.#connections]) c.reset();
    await closeServer(this.#server);
  }

  /** Add a toxic to existing and new connections; returns its id (for removeToxic). */
  addToxic(kind: ToxicKind, params: ToxicParams, options: ToxicOptions): number {
    const t: ActiveToxic = { id: this.#nextId++, kind, params, options, seen: 0 };
    this.#toxics.set(t.id, t);
    for (const c of [...this.#connections]) this.#apply(t, c);
    return t.id;
  }

  removeToxic(id: number): void {
    if (!this.#toxics.delete(id)) return;
    for (const c of this.#connections) {
      c.up.remove(id);
      c.down.remove(id);
    }
  }

  /** RST a share of the open connections now; returns how many. */
  resetConnections(share = 1): number {
    let n = 0;
    const all = [...this.#connections];
    all.forEach((c, k) => {
      if (Math.floor((k + 1) * share) > Math.floor(k * share)) {
        c.reset();
        n++;
      }
    });
    return n;
  }

  #apply(t: ActiveToxic, c: ProxiedConnection): void {
    const k = t.seen++;
    const share = t.options.share;
    if (!(Math.floor((k + 1) * share) > Math.floor(k * share))) return;
    const def = TOXICS[t.kind];
    const dir = t.options.direction;
    // a reset hits the connection once, whatever the direction
    if (t.kind === 'reset') return void def.create(t.params, c);
    if (dir === 'upstream' || dir === 'both') c.up.add(t.id, def.create(t.params, c));
    if (dir === 'downstream' || dir === 'both') c.down.add(t.id, def.create(t.params, c));
  }

  #accept(client: net.Socket): void {
    if (this.isStopping) return resetSocket(client);
    client.on('error', noop);
    const server = net.connect({ host: this.#o.upstream.host, port: this.#o.upstream.port, allowHalfOpen: true, noDelay: true });
    server.on('error', noop);
    server.setTimeout(this.#o.connectTimeoutMs, () => {
      if (server.connecting) {
        resetSocket(client);
        server.destroy();
      }
    });
    server.once('connect', () => server.setTimeout(0));
    const conn = new ProxiedConnection(client, server, (c) => this.#connections.delete(c));
    this.#connections.add(conn);
    for (const t of this.#toxics.values()) this.#apply(t, conn);
  }
}

function noop(): void {}
