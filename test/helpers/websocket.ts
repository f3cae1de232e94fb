import type tls from 'node:tls';
import { FrameDecoder, encodeFrame, newWebSocketKey, type Frame } from '../../src/halibut/websocket-frames.js';
import type { CertificateIdentity } from '../../src/pki/index.js';
import { HOST } from './cluster.js';
import { connectTls } from './tls-pair.js';
import { withTimeout } from './wait.js';

/** A hand-written WebSocket client for tests: it sends exactly the frames it is told to and records every frame it receives. */
export interface RawWebSocket {
  socket: tls.TLSSocket;
  status: number;
  headers: string;
  frames: Frame[];
  /** Send one frame (masked, as a client must). */
  send(f: { fin: boolean; opcode: number; payload?: Buffer }): void;
  /** Payload of every data frame received so far, joined. */
  data(): string;
  waitFor(pred: () => boolean, ms: number, what: string): Promise<void>;
  closed: Promise<void>;
}

export async function rawWebSocket(port: number, cert: CertificateIdentity | undefined, o: { path?: string; protocol?: string } = {}): Promise<RawWebSocket> {
  const socket = await connectTls(port, { identity: cert ?? null, timeoutMs: 5_000 });
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.write(
    `GET ${o.path ?? '/OctopusComms'} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${newWebSocketKey()}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${o.protocol ?? 'Octopus'}\r\n` +
      'X-Octopus-RequestId: 6f1c2b4e-0d3a-4c55-9a61-2f7e8b9c0d1e\r\n\r\n',
  );
  let buf = Buffer.alloc(0);
  const frames: Frame[] = [];
  const decoder = new FrameDecoder({ maxFramePayload: 16 * 1024 * 1024, expectMask: 'unmasked' });
  let headers = '';
  let wake: (() => void) | null = null;
  const head = await withTimeout(
    new Promise<string>((resolve) => {
      const onData = (c: Buffer) => {
        if (headers) {
          frames.push(...decoder.push(c));
          wake?.();
          return;
        }
        buf = Buffer.concat([buf, c]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        headers = buf.subarray(0, end).toString('latin1');
        if (headers.startsWith('HTTP/1.1 101')) frames.push(...decoder.push(buf.subarray(end + 4)));
        else socket.off('data', onData); // a refusal: the body is not frames
        resolve(headers);
      };
      socket.on('data', onData);
      socket.once('close', () => resolve(headers || buf.toString('latin1')));
    }),
    5_000,
    'upgrade answer',
  );
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  return {
    socket,
    status,
    headers: head,
    frames,
    send: (f) => socket.write(encodeFrame({ ...f, mask: true })),
    data: () => Buffer.concat(frames.filter((f) => f.opcode <= 2).map((f) => f.payload)).toString('latin1'),
    waitFor: (pred, ms, what) =>
      withTimeout(
        new Promise<void>((resolve) => {
          const check = () => {
            if (pred()) {
              wake = null;
              resolve();
            }
          };
          wake = check;
          check();
        }),
        ms,
        what,
      ),
    closed,
  };
}
