import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** A socket's observable fate: data seen, and whether/how it ended. */
export interface Watched {
  socket: net.Socket;
  bytes: number;
  text: string;
  isEnded: boolean;
  isClosed: boolean;
  errorCode: string | undefined;
}

export function watch(socket: net.Socket): Watched {
  const w: Watched = { socket, bytes: 0, text: '', isEnded: false, isClosed: false, errorCode: undefined };
  socket.on('data', (d: Buffer) => { w.bytes += d.length; w.text += d.toString('latin1'); });
  socket.on('end', () => { w.isEnded = true; });
  socket.on('close', () => { w.isClosed = true; });
  socket.on('error', (e: NodeJS.ErrnoException) => { w.errorCode ??= e.code ?? e.message; });
  return w;
}

/**
 * A named TCP target that echoes everything and remembers each accepted connection.
 * `stop()` closes the listener and destroys its connections (a crashed node: connects are refused);
 * `restart()` listens again on the same port.
 */
export class EchoTarget {
  readonly name: string;
  readonly host: string;
  port = 0;
  readonly connections: Watched[] = [];
  #server: net.Server | undefined;

  constructor(name: string, host = LOOPBACK) {
    this.name = name;
    this.host = host;
  }

  get bytes(): number {
    return this.connections.reduce((n, c) => n + c.bytes, 0);
  }

  async start(port = this.port): Promise<this> {
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      const w = watch(s);
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
      this.connections.push(w);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => resolve());
    });
    this.#server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    for (const c of this.connections) c.socket.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  restart(): Promise<this> {
    return this.start(this.port);
  }

  spec(): { name: string; host: string; port: number } {
    return { name: this.name, host: this.host, port: this.port };
  }
}

/** A small node:http target answering its name (or `status` for the ping path) and recording request headers. */
export class HttpTarget {
  readonly name: string;
  port = 0;
  status = 200;
  readonly requests: http.IncomingHttpHeaders[] = [];
  /** Requests to /slow wait here until `release()`. */
  readonly held: http.ServerResponse[] = [];
  readonly server: http.Server;

  constructor(name: string, server?: http.Server) {
    this.name = name;
    this.server = server ?? http.createServer();
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.url?.startsWith('/api/octopusservernodes/ping')) {
        res.writeHead(this.status, { 'content-type': 'text/plain' }).end(String(this.status));
        return;
      }
      this.requests.push(req.headers);
      if (req.url === '/slow') {
        this.held.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'x-target': this.name }).end(this.name);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, LOOPBACK, () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  release(): void {
    for (const r of this.held.splice(0)) r.writeHead(200, { 'x-target': this.name }).end(this.name);
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Connect over TCP; resolves once connected. */
export function connect(port: number, host = LOOPBACK, timeoutMs = 2_000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host });
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`connect ${host}:${port} timed out`)); }, timeoutMs);
    s.once('connect', () => { clearTimeout(timer); resolve(s); });
    s.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}
