import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { PollfleetError } from '../core/errors.js';
import {
  WEBSOCKET_REQUEST_ID_HEADER,
  WEBSOCKET_SUBPROTOCOL,
  newWebSocketKey,
  webSocketAccept,
  type Frame,
} from '../halibut/websocket-frames.js';
import { WebSocketStream } from '../halibut/websocket-stream.js';

/** Longest upgrade response head accepted. */
const MAX_RESPONSE_HEAD_BYTES = 16 * 1024;

export interface WebSocketUpgradeOptions {
  /** For messages: the address as configured. */
  address: string;
  /** Host header: host[:port] as the tentacle would send it. */
  hostHeader: string;
  path: string;
  /** The upgrade response must arrive within this (TcpClientTimeout). */
  timeoutMs: number;
  /** Largest frame accepted from the node. */
  maxFramePayload: number;
  /** Sent as X-Octopus-RequestId (a fresh GUID by default). */
  requestId?: string;
  observeFrame?: (direction: 'in' | 'out', frame: Frame) => void;
}

interface ResponseHead {
  status: number;
  statusLine: string;
  headers: Map<string, string>;
  rest: Buffer;
}

/**
 * The tentacle's side of polling over WebSockets (reference section 7), over a secured
 * socket: send the upgrade request (subprotocol `Octopus`, header `X-Octopus-RequestId`),
 * check the `101` answer, and return the WebSocket stream. The caller then checks the node's
 * thumbprint (mismatch: `close(1002, ...)`) and sends the text message `MX`.
 */
export async function upgradeToWebSocket(socket: Duplex, o: WebSocketUpgradeOptions, signal: AbortSignal): Promise<WebSocketStream> {
  const key = newWebSocketKey();
  const request =
    `GET ${o.path} HTTP/1.1\r\n` +
    `Host: ${o.hostHeader}\r\n` +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${key}\r\n` +
    'Sec-WebSocket-Version: 13\r\n' +
    `Sec-WebSocket-Protocol: ${WEBSOCKET_SUBPROTOCOL}\r\n` +
    `${WEBSOCKET_REQUEST_ID_HEADER}: ${o.requestId ?? randomUUID()}\r\n\r\n`;
  socket.write(request);
  const head = await readResponseHead(socket, o, signal);
  if (head.status !== 101) {
    throw new PollfleetError(
      'protocol.http-response',
      `${o.address} answered the WebSocket upgrade with "${head.statusLine.slice(0, 120)}" instead of 101 Switching Protocols -- ` +
        `is polling over WebSockets enabled on the node (listen prefix https://+:443${o.path}/)?`,
      { status: head.status, address: o.address },
    );
  }
  if ((head.headers.get('upgrade') ?? '').toLowerCase() !== 'websocket') {
    throw new PollfleetError('protocol.error', `${o.address} answered 101 without "Upgrade: websocket"`);
  }
  if (head.headers.get('sec-websocket-accept') !== webSocketAccept(key)) {
    throw new PollfleetError('protocol.error', `${o.address} answered the WebSocket upgrade with a wrong Sec-WebSocket-Accept`);
  }
  const protocol = head.headers.get('sec-websocket-protocol');
  if (protocol !== WEBSOCKET_SUBPROTOCOL) {
    throw new PollfleetError('protocol.error', `${o.address} did not accept the WebSocket subprotocol ${WEBSOCKET_SUBPROTOCOL} (it answered ${protocol === undefined ? 'none' : JSON.stringify(protocol)})`);
  }
  return new WebSocketStream(socket, {
    role: 'client',
    maxFramePayload: o.maxFramePayload,
    head: head.rest,
    ...(o.observeFrame ? { observeFrame: o.observeFrame } : {}),
  });
}

function readResponseHead(socket: Duplex, o: WebSocketUpgradeOptions, signal: AbortSignal): Promise<ResponseHead> {
  return new Promise<ResponseHead>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, head?: ResponseHead) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else {
        socket.pause(); // the WebSocket stream takes over reading
        resolve(head!);
      }
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > MAX_RESPONSE_HEAD_BYTES) done(new PollfleetError('protocol.error', `${o.address}: the WebSocket upgrade response head is over ${MAX_RESPONSE_HEAD_BYTES} bytes`));
        return;
      }
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const statusLine = lines[0] ?? '';
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
      if (!m) {
        done(new PollfleetError('protocol.error', `${o.address} answered the WebSocket upgrade with something that is not HTTP: ${JSON.stringify(statusLine.slice(0, 60))}`));
        return;
      }
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
      }
      done(null, { status: Number(m[1]), statusLine, headers, rest: buf.subarray(end + 4) });
    };
    const onEnd = () => done(new PollfleetError('closed.by-peer', `${o.address} closed the connection during the WebSocket upgrade`));
    const onError = (e: Error) => done(e);
    const onAbort = () => done(new PollfleetError('internal', 'stopped during the WebSocket upgrade'));
    const timer = setTimeout(
      () => done(new PollfleetError('timeout.receive', `the WebSocket upgrade answer from ${o.address} did not arrive within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
