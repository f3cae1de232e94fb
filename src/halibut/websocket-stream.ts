import { Duplex } from 'node:stream';
import { PREAMBLE_CRLF, PREAMBLE_MAX_CHARS } from './constants.js';
import { HalibutError } from './halibut-error.js';
import {
  CLOSE_NORMAL,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_TOO_BIG,
  FrameDecoder,
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_CONTINUATION,
  OPCODE_PING,
  OPCODE_PONG,
  OPCODE_TEXT,
  closePayload,
  encodeFrame,
  parseClosePayload,
  type Frame,
} from './websocket-frames.js';

export interface WebSocketStreamOptions {
  /** `client` masks what it sends and expects unmasked frames; `server` the other way round. */
  role: 'client' | 'server';
  /** Largest single frame accepted. */
  maxFramePayload: number;
  /** Bytes already read past the HTTP upgrade (they belong to the frame stream). */
  head?: Buffer;
  /** Sees every frame read (`in`) and written (`out`), e.g. to check FIN in diagnostics and tests. */
  observeFrame?: (direction: 'in' | 'out', frame: Frame) => void;
}

export interface WebSocketCloseInfo {
  code: number | null;
  reason: string;
}

/**
 * The polling byte stream over an upgraded WebSocket connection (reference section 7), as a
 * Duplex the protocol sessions run over unchanged:
 * - writes go out as binary fragments that never set FIN (the first with the binary opcode,
 *   every later one as a continuation), masked when this end is the client;
 * - reads hand on each fragment's payload as soon as the fragment is in, never waiting for FIN;
 * - on the server end the first (text) message `MX` is handed on as the preamble `MX\r\n\r\n`
 *   (any other text is handed on as it is, so the session answers it as a non-`MX` peer);
 * - ping is answered with pong; a close is answered with a close and ends the readable side;
 *   ending the writable side sends a close (1000) and ends the connection.
 */
export class WebSocketStream extends Duplex {
  readonly #socket: Duplex;
  readonly #o: WebSocketStreamOptions;
  readonly #decoder: FrameDecoder;
  #sentData = false;
  #closeSent = false;
  #closeReceived: WebSocketCloseInfo | null = null;
  #awaitingPreamble: boolean;
  #preambleStarted = false;
  #preambleParts: Buffer[] = [];
  #preambleBytes = 0;
  #readEnded = false;

  constructor(socket: Duplex, o: WebSocketStreamOptions) {
    super({ allowHalfOpen: true });
    this.#socket = socket;
    this.#o = o;
    this.#awaitingPreamble = o.role === 'server';
    this.#decoder = new FrameDecoder({ maxFramePayload: o.maxFramePayload, expectMask: o.role === 'server' ? 'masked' : 'unmasked' });
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    socket.on('error', this.#onError);
    if (o.head && o.head.length > 0) this.#onData(o.head);
    socket.resume(); // the upgrade reader may have paused it
  }

  /** The peer's close frame, once one arrived. */
  get closeReceived(): WebSocketCloseInfo | null {
    return this.#closeReceived;
  }

  /** Send one complete text message (the tentacle's `MX`). */
  sendText(text: string): void {
    this.#send({ fin: true, opcode: OPCODE_TEXT, payload: Buffer.from(text, 'utf8') });
  }

  /**
   * Send a close frame and end the connection; resolves when the connection is closed
   * (the peer closes, or `timeoutMs` passes and it is destroyed).
   */
  close(code: number, reason: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.#socket.destroyed) {
        this.destroy();
        resolve();
        return;
      }
      const timer = setTimeout(() => this.destroy(), timeoutMs);
      timer.unref();
      this.#socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#sendClose(code, reason);
      this.#socket.end();
    });
  }

  // ---------- Duplex ----------

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (chunk.length === 0) {
      cb();
      return;
    }
    if (this.#closeSent) {
      cb(new HalibutError('closed.by-peer', 'the WebSocket connection is closing'));
      return;
    }
    const opcode = this.#sentData ? OPCODE_CONTINUATION : OPCODE_BINARY;
    this.#sentData = true;
    this.#send({ fin: false, opcode, payload: chunk }, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#sendClose(CLOSE_NORMAL, '');
    this.#socket.end();
    cb();
  }

  override _read(): void {
    if (this.#socket.isPaused()) this.#socket.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#socket.off('data', this.#onData);
    this.#socket.destroy();
    cb(err);
  }

  // ---------- internals ----------

  #send(f: { fin: boolean; opcode: number; payload: Buffer }, cb?: (err?: Error | null) => void): void {
    const frame = encodeFrame({ ...f, mask: this.#o.role === 'client' });
    this.#o.observeFrame?.('out', { ...f, masked: this.#o.role === 'client' });
    if (this.#socket.writable) this.#socket.write(frame, cb);
    else cb?.(new HalibutError('closed.by-peer', 'the WebSocket connection is closed'));
  }

  #sendClose(code: number, reason: string): void {
    if (this.#closeSent || !this.#socket.writable) return;
    this.#closeSent = true;
    this.#send({ fin: true, opcode: OPCODE_CLOSE, payload: closePayload(code, reason) });
  }

  #onData = (chunk: Buffer): void => {
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (e) {
      const err = e as HalibutError;
      this.#sendClose(err.kind === 'protocol.message-too-large' ? CLOSE_TOO_BIG : CLOSE_PROTOCOL_ERROR, err.message);
      this.destroy(err);
      return;
    }
    for (const f of frames) {
      this.#o.observeFrame?.('in', f);
      if (!this.#onFrame(f)) return;
    }
  };

  /** false: stop reading (closed or failed). */
  #onFrame(f: Frame): boolean {
    if (this.#readEnded) return false;
    switch (f.opcode) {
      case OPCODE_PING:
        // A peer that pings and never reads would otherwise grow our write buffer by every pong:
        // while the socket needs draining the pong is skipped (RFC 6455 5.5.3 allows answering
        // only the latest ping).
        if (!this.#closeSent && !this.#socket.writableNeedDrain) this.#send({ fin: true, opcode: OPCODE_PONG, payload: f.payload });
        return true;
      case OPCODE_CLOSE: {
        this.#closeReceived = parseClosePayload(f.payload);
        this.#sendClose(this.#closeReceived.code ?? CLOSE_NORMAL, '');
        this.#socket.end();
        this.#endRead();
        return false;
      }
      case OPCODE_TEXT:
      case OPCODE_BINARY:
      case OPCODE_CONTINUATION:
        return this.#onDataFrame(f);
      default:
        return true; // pong
    }
  }

  #onDataFrame(f: Frame): boolean {
    if (this.#awaitingPreamble) {
      const isText = f.opcode === OPCODE_TEXT || (f.opcode === OPCODE_CONTINUATION && this.#preambleStarted);
      if (!isText) return this.#fail('expected the text message MX first, got a binary frame');
      this.#preambleStarted = true;
      this.#preambleParts.push(f.payload);
      this.#preambleBytes += f.payload.length;
      if (this.#preambleBytes > PREAMBLE_MAX_CHARS) return this.#fail(`the first text message is over ${PREAMBLE_MAX_CHARS} bytes`);
      if (!f.fin) return true;
      this.#awaitingPreamble = false;
      const text = Buffer.concat(this.#preambleParts).toString('utf8');
      this.#preambleParts = [];
      // The text message stands in for the TCP preamble (`MX` + CRLF CRLF).
      return this.#push(text === 'MX' ? PREAMBLE_CRLF : Buffer.from(`${text}\r\n\r\n`, 'utf8'));
    }
    if (f.opcode === OPCODE_TEXT) return this.#fail('unexpected text message in the polling stream');
    return this.#push(f.payload);
  }

  #push(b: Buffer): boolean {
    if (b.length > 0 && !this.push(b)) this.#socket.pause();
    return true;
  }

  #fail(message: string): boolean {
    this.#sendClose(CLOSE_PROTOCOL_ERROR, message);
    this.destroy(new HalibutError('protocol.error', message));
    return false;
  }

  #endRead(): void {
    if (this.#readEnded) return;
    this.#readEnded = true;
    this.push(null);
  }

  #onEnd = (): void => {
    this.#endRead();
  };

  #onClose = (): void => {
    this.#endRead();
    if (!this.destroyed) this.destroy();
  };

  #onError = (e: Error): void => {
    if (!this.destroyed) this.destroy(e);
  };
}
