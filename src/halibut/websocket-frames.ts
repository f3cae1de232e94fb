import { createHash, randomBytes } from 'node:crypto';
import { HalibutError } from './halibut-error.js';

/**
 * WebSocket framing (RFC 6455 section 5) as polling over WebSockets uses it (reference
 * section 7): `wss://host:443/OctopusComms`, subprotocol `Octopus`, one text message `MX`,
 * then the polling byte stream in binary frames that never set FIN. Encoding and a
 * streaming decoder that hands out every frame as soon as it is complete -- fragments are
 * never held back waiting for the end of a message.
 */

/** Path a node serves polling over WebSockets on (server prefix https://+:443/OctopusComms/). */
export const WEBSOCKET_PATH = '/OctopusComms';
export const WEBSOCKET_SUBPROTOCOL = 'Octopus';
/** Sent by the tentacle with the upgrade request, a fresh GUID per connection. */
export const WEBSOCKET_REQUEST_ID_HEADER = 'X-Octopus-RequestId';
/** The first (text) message after the upgrade; it stands in for the TCP preamble. */
export const WEBSOCKET_PREAMBLE_TEXT = 'MX';
/** Reason the tentacle gives when the node's certificate is not the configured one (with close code 1002). */
export const WEBSOCKET_THUMBPRINT_CLOSE_REASON = 'Certificate thumbprint not recognised';
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OPCODE_CONTINUATION = 0x0;
export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

export const CLOSE_NORMAL = 1000;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_TOO_BIG = 1009;

/** Largest control frame payload (RFC 6455 5.5). */
const MAX_CONTROL_PAYLOAD = 125;

export interface Frame {
  fin: boolean;
  opcode: number;
  /** Whether the sender masked the payload (clients must, servers must not). */
  masked: boolean;
  /** Unmasked payload. */
  payload: Buffer;
}

export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/**
 * One frame on the wire. `mask: true` masks with a random key (client frames), a Buffer
 * of 4 bytes masks with that key, omitted sends it unmasked (server frames).
 */
export function encodeFrame(f: { fin: boolean; opcode: number; payload?: Buffer; mask?: boolean | Buffer }): Buffer {
  const payload = f.payload ?? Buffer.alloc(0);
  const len = payload.length;
  if (isControlOpcode(f.opcode) && (len > MAX_CONTROL_PAYLOAD || !f.fin)) {
    throw new HalibutError('protocol.error', `a WebSocket control frame must be one frame of at most ${MAX_CONTROL_PAYLOAD} bytes`);
  }
  const key = f.mask === true ? randomBytes(4) : f.mask instanceof Buffer ? f.mask : null;
  const lenBytes = len < 126 ? 0 : len < 0x10000 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (key ? 4 : 0));
  head[0] = (f.fin ? 0x80 : 0) | (f.opcode & 0x0f);
  head[1] = (key ? 0x80 : 0) | (lenBytes === 0 ? len : lenBytes === 2 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(len, 2);
  else if (lenBytes === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!key) return Buffer.concat([head, payload]);
  key.copy(head, 2 + lenBytes);
  return Buffer.concat([head, applyMask(payload, key)]);
}

/** XOR with the 4-byte key (masking and unmasking are the same operation); returns a copy. */
export function applyMask(data: Buffer, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ key[i & 3]!;
  return out;
}

/** A close frame's payload: 2-byte code, then a UTF-8 reason (cut to fit a control frame). */
export function closePayload(code: number, reason = ''): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, MAX_CONTROL_PAYLOAD - 2);
  const out = Buffer.alloc(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}

export function parseClosePayload(payload: Buffer): { code: number | null; reason: string } {
  if (payload.length < 2) return { code: null, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') };
}

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key. */
export function webSocketAccept(key: string): string {
  return createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
}

/** A fresh Sec-WebSocket-Key. */
export function newWebSocketKey(): string {
  return randomBytes(16).toString('base64');
}

export interface FrameDecoderOptions {
  /** Largest payload of one frame accepted. */
  maxFramePayload: number;
  /** `masked`: every frame must be masked (a server reading a client); `unmasked`: none may be. */
  expectMask: 'masked' | 'unmasked';
}

/**
 * Streaming frame decoder: push bytes as they arrive, get every complete frame back at
 * once -- a fragment (FIN = 0) is returned as soon as its own bytes are in. Checks what a
 * reader must: reserved bits, control frame size and FIN, masking direction, the payload cap,
 * and that continuation frames follow a started message.
 */
export class FrameDecoder {
  readonly #o: FrameDecoderOptions;
  /** Received bytes not yet consumed, merged only once a whole frame is in (a large frame is copied once, not per chunk). */
  #chunks: Buffer[] = [];
  #length = 0;
  /** Bytes the frame in progress needs in all (0 = not known yet). */
  #need = 0;
  /** Opcode of the data message in progress (FIN not yet seen), or null. */
  #messageOpcode: number | null = null;

  constructor(o: FrameDecoderOptions) {
    this.#o = o;
  }

  /** Opcode of the fragmented message in progress (text or binary), or null between messages. */
  get messageOpcode(): number | null {
    return this.#messageOpcode;
  }

  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#length += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      const f = this.#next();
      if (!f) break;
      frames.push(f);
    }
    return frames;
  }

  #wait(bytes: number): null {
    this.#need = bytes;
    return null;
  }

  #merged(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#length)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  #next(): Frame | null {
    if (this.#length < Math.max(2, this.#need)) return null;
    const b = this.#merged();
    const fin = (b[0]! & 0x80) !== 0;
    if ((b[0]! & 0x70) !== 0) throw new HalibutError('protocol.error', 'WebSocket frame with reserved bits set (no extension was negotiated)');
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    let len = b[1]! & 0x7f;
    let offset = 2;
    if (len === 126) {
      if (b.length < 4) return this.#wait(4);
      len = b.readUInt16BE(2);
      offset = 4;
    } else if (len === 127) {
      if (b.length < 10) return this.#wait(10);
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(this.#o.maxFramePayload)) throw tooBig(big.toString(), this.#o.maxFramePayload);
      len = Number(big);
      offset = 10;
    }
    if (isControlOpcode(opcode)) {
      if (opcode !== OPCODE_CLOSE && opcode !== OPCODE_PING && opcode !== OPCODE_PONG) throw unknownOpcode(opcode);
      if (!fin || len > MAX_CONTROL_PAYLOAD) throw new HalibutError('protocol.error', `WebSocket control frame (opcode ${opcode}) fragmented or over ${MAX_CONTROL_PAYLOAD} bytes`);
    } else if (opcode !== OPCODE_CONTINUATION && opcode !== OPCODE_TEXT && opcode !== OPCODE_BINARY) {
      throw unknownOpcode(opcode);
    }
    if (len > this.#o.maxFramePayload) throw tooBig(String(len), this.#o.maxFramePayload);
    if (masked !== (this.#o.expectMask === 'masked')) {
      throw new HalibutError('protocol.error', this.#o.expectMask === 'masked' ? 'unmasked WebSocket frame from a client' : 'masked WebSocket frame from a server');
    }
    const keyAt = offset;
    if (masked) offset += 4;
    if (b.length < offset + len) return this.#wait(offset + len);
    let payload = b.subarray(offset, offset + len);
    if (masked) payload = applyMask(payload, b.subarray(keyAt, keyAt + 4));
    else payload = Buffer.from(payload); // own copy: the buffer it came from is kept for what follows
    const rest = b.subarray(offset + len);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    this.#need = 0;
    if (!isControlOpcode(opcode)) {
      if (opcode === OPCODE_CONTINUATION) {
        if (this.#messageOpcode === null) throw new HalibutError('protocol.error', 'WebSocket continuation frame without a message in progress');
      } else if (this.#messageOpcode !== null) {
        throw new HalibutError('protocol.error', 'new WebSocket data message before the previous one finished (FIN)');
      } else {
        this.#messageOpcode = opcode;
      }
      if (fin) this.#messageOpcode = null;
    }
    return { fin, opcode, masked, payload };
  }
}

function tooBig(len: string, max: number): HalibutError {
  return new HalibutError('protocol.message-too-large', `WebSocket frame of ${len} bytes is over the ${max}-byte limit`);
}

function unknownOpcode(opcode: number): HalibutError {
  return new HalibutError('protocol.error', `unknown WebSocket opcode 0x${opcode.toString(16)}`);
}
