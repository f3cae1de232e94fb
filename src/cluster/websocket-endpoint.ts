import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { HANDSHAKE_PAGE_HTML } from '../halibut/constants.js';
import { WEBSOCKET_PATH, WEBSOCKET_SUBPROTOCOL, webSocketAccept, type Frame } from '../halibut/websocket-frames.js';
import { WebSocketStream } from '../halibut/websocket-stream.js';
import type { PollingChannel } from './polling-listener.js';

export interface WebSocketEndpointOptions {
  /** Largest frame accepted from a tentacle. */
  maxFramePayload: number;
  /** Runs the polling session (PollingListener.serve): authorisation, events, graceful stop. */
  serve: (channel: PollingChannel) => void;
  /** Default /OctopusComms (matched case-insensitively, with or without a trailing slash). */
  path?: string;
  /** Sees every frame of every connection (diagnostics and tests); `connection` counts from 1. */
  observeFrame?: (connection: number, direction: 'in' | 'out', frame: Frame) => void;
}

/**
 * A node's polling over WebSockets (reference section 7) on its HTTPS REST API:
 * `wss://node:443/OctopusComms`, subprotocol `Octopus`. Checks the upgrade request, answers
 * `101`, and hands a WebSocketStream (a raw frame reader that passes on every binary
 * fragment without waiting for FIN) to the polling listener. The tentacle's certificate comes
 * from the TLS connection (the API server asks for one and accepts any); the listener
 * authorises it after the text `MX`, as on the polling port -- an untrusted one is closed
 * without a byte of WebSocket data.
 */
export class WebSocketEndpoint {
  readonly #o: WebSocketEndpointOptions;
  readonly #path: string;
  #connections = 0;

  constructor(o: WebSocketEndpointOptions) {
    this.#o = o;
    this.#path = (o.path ?? WEBSOCKET_PATH).toLowerCase().replace(/\/+$/, '');
  }

  /**
   * A plain (non-upgrade) request on the WebSocket path, any method: the friendly HTML page,
   * HTTP 200, as Halibut's SecureWebSocketListener answers anything that is not a WebSocket
   * request (source/Halibut/Transport/SecureWebSocketListener.cs, SendFriendlyHtmlPage). This
   * is what `Tentacle register-with --server-web-socket` POSTs to as its port check
   * (OctopusTentacle Communications/OctopusServerChecker.cs). Returns false for other paths.
   */
  handlePlainRequest = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    if (this.#pathOf(req) !== this.#path) return false;
    const body = `${HANDSHAKE_PAGE_HTML}\r\n`;
    req.resume(); // a body (if any) is not read: drain it so the connection stays usable
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return true;
  };

  #pathOf(req: http.IncomingMessage): string | null {
    try {
      return new URL(req.url ?? '/', 'https://node.invalid').pathname.toLowerCase().replace(/\/+$/, '');
    } catch {
      return null;
    }
  }

  /** The HTTP server's 'upgrade' handler. */
  handleUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const refusal = this.#check(req);
    if (refusal) {
      const version = refusal.status.startsWith('426') ? 'Sec-WebSocket-Version: 13\r\n' : '';
      socket.end(`HTTP/1.1 ${refusal.status}\r\n${version}Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(refusal.text)}\r\nConnection: close\r\n\r\n${refusal.text}`);
      return;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${webSocketAccept(String(req.headers['sec-websocket-key']))}\r\n` +
        `Sec-WebSocket-Protocol: ${WEBSOCKET_SUBPROTOCOL}\r\n\r\n`,
    );
    const id = ++this.#connections;
    const observe = this.#o.observeFrame;
    const stream = new WebSocketStream(socket, {
      role: 'server',
      maxFramePayload: this.#o.maxFramePayload,
      head,
      ...(observe ? { observeFrame: (direction: 'in' | 'out', frame: Frame) => observe(id, direction, frame) } : {}),
    });
    const tlsSocket = socket as TLSSocket;
    this.#o.serve({
      duplex: stream,
      socket: socket as Socket,
      // null once the socket is destroyed (a client gone right after its preamble): refused, as on the TLS port, not an internal error.
      peerCertificate: () => (typeof tlsSocket.getPeerCertificate === 'function' ? (tlsSocket.getPeerCertificate() as { raw?: Buffer } | null)?.raw : undefined),
    });
  };

  #check(req: http.IncomingMessage): { status: string; text: string } | null {
    // e.g. `GET http://[::1 HTTP/1.1` has no path: an exception here would end the node's process
    const path = this.#pathOf(req);
    if (path === null) return { status: '400 Bad Request', text: 'The request target is not a valid URL\n' };
    if (path !== this.#path) return { status: '404 Not Found', text: `No WebSocket endpoint at ${path}; polling over WebSockets is served on ${this.#o.path ?? WEBSOCKET_PATH}\n` };
    if (req.method !== 'GET') return { status: '405 Method Not Allowed', text: 'A WebSocket upgrade is a GET request\n' };
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return { status: '400 Bad Request', text: 'Expected Upgrade: websocket\n' };
    if (req.headers['sec-websocket-version'] !== '13') return { status: '426 Upgrade Required', text: 'Sec-WebSocket-Version 13 is required\n' };
    if (!req.headers['sec-websocket-key']) return { status: '400 Bad Request', text: 'Sec-WebSocket-Key is missing\n' };
    const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!protocols.includes(WEBSOCKET_SUBPROTOCOL)) {
      return { status: '400 Bad Request', text: `The WebSocket subprotocol ${WEBSOCKET_SUBPROTOCOL} is required\n` };
    }
    return null;
  }
}
