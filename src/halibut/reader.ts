import type { Readable } from 'node:stream';
import { now } from '../core/clock.js';
import { CRLF, PREAMBLE_MAX_CHARS } from './constants.js';
import { bsonToMessage, findDataStreams, type DataStreamRef, type InflateAttempt } from './codec.js';
import type { DataStreamSink } from './data-stream.js';
import { HalibutError, isHalibutError, type HalibutErrorKind } from './halibut-error.js';
import { MessageInflater } from './message-inflater.js';
import { readDeadlines, type DeadlineHolder } from './deadline-timer.js';
import type { Message } from './messages.js';

const EMPTY = Buffer.alloc(0);
const LF = 0x0a;
const CR = 0x0d;
/** Stop reading from the socket while this much is buffered and not yet consumed. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Longest control or identity line accepted (a real one is < 100 chars). */
const MAX_LINE_CHARS = 20_000;

export interface ReadOptions {
  /** Give up when no byte arrives for this long while waiting. */
  timeoutMs: number;
  /** Error kind used when the timeout fires. */
  timeoutKind?: Extract<HalibutErrorKind, `timeout.${string}`>;
}

/** Told once how a wait for bytes ended (ProtocolReader.waitForDataThen). */
export interface ReadWaiter {
  /** Bytes arrived (or the source ended: the next read meets the end). */
  dataReady(): void;
  /** The wait timed out, or the source failed. */
  readFailed(e: Error): void;
}

export interface ReceivedMessage {
  message: Message;
  /** Raw-deflate bytes the message occupied on the wire. */
  wireBytes: number;
  /** Data streams that followed it, in order. */
  streams: Buffer[];
}

/**
 * A pull reader over any Readable (a TLS socket, a WebSocket adapter, a test PassThrough):
 * preamble, CRLF lines, deflated messages and data streams, each read leaving the bytes
 * that follow for the next read. A wait for bytes is a plain promise whose timeout is a deadline
 * of the one timer all readers share (src/halibut/deadline-timer.ts), so a reader waiting on an
 * idle connection holds no Timeout and no suspended async frame of its own.
 * Measured (bench/heap-hold.ts, 500 tentacles x 3 nodes held, this 2-core machine): the fleet's
 * JS heap per held connection, 12.9 KiB before, 4.6 KiB with this and the session and polling
 * connection changes (step by step in src/tentacle/polling-connection.ts).
 */
export class ProtocolReader implements DeadlineHolder {
  #source: Readable;
  /** Received bytes merged into one buffer (what the parsers look at). */
  #pending: Buffer = EMPTY;
  /** Chunks received since the last merge: merged only when a parser needs them, so a large
   * data stream arriving in many chunks is copied once, not once per chunk. */
  #chunks: Buffer[] = [];
  #chunkBytes = 0;
  /** Storage #pending is a view of, with free room after it (null: #pending is a received chunk). */
  #store: Buffer | null = null;
  #ended = false;
  #error: Error | null = null;
  /** The pending wait for more bytes, told by #notify or onDeadline. */
  #waiter: ReadWaiter | null = null;
  /** The pending wait's timeout and its kind (for the error). */
  #waitMs = 0;
  #waitKind: NonNullable<ReadOptions['timeoutKind']> = 'timeout.receive';
  #paused = false;
  /** Whether any byte has arrived since the reader was made. */
  #received = false;
  #maxMessageBytes: number;
  /** The pending wait's deadline, kept by the shared deadline timer (src/halibut/deadline-timer.ts). */
  deadlineAt = 0;
  deadlineIndex = -1;

  /**
   * The source's listeners: prototype methods bound once per reader. (Arrow functions in class
   * fields got their names set at run time, which gave each a 256-byte property array: three
   * per held connection.)
   */
  readonly #onData: (chunk: Buffer) => void;
  readonly #onEnd: () => void;
  readonly #onError: (e: Error) => void;

  constructor(source: Readable, opts: { maxMessageBytes: number }) {
    this.#onData = this.#data.bind(this);
    this.#onEnd = this.#end.bind(this);
    this.#onError = this.#failed.bind(this);
    this.#source = source;
    this.#maxMessageBytes = opts.maxMessageBytes;
    source.on('data', this.#onData);
    source.on('end', this.#onEnd);
    source.on('close', this.#onEnd);
    source.on('error', this.#onError);
  }

  /** Bytes received and not yet consumed (for tests and diagnostics). */
  get buffered(): number {
    return this.#available;
  }

  /** Whether any byte has arrived (a node that closes right after the identity sent none). */
  get hasReceived(): boolean {
    return this.#received;
  }

  /** Whether the reader has paused its source because too much is buffered (for tests). */
  get isPaused(): boolean {
    return this.#paused;
  }

  get #available(): number {
    return this.#pending.length + this.#chunkBytes;
  }

  #merge(): Buffer {
    if (this.#chunks.length === 0) return this.#pending;
    const total = this.#pending.length + this.#chunkBytes;
    if (this.#pending.length === 0 && this.#chunks.length === 1) {
      this.#pending = this.#chunks[0]!;
      this.#store = null;
    } else {
      // Appended in place while the store has room; otherwise into a new store with slack as large
      // as what was already pending (at most the high-water mark: one large read merged once gets
      // little), so a message arriving in many small pieces, merged on each arrival
      // by readMessage, costs O(n) copying in all rather than O(n^2). Bytes before the end of
      // #pending are never overwritten (a sink may still hold a view of consumed bytes).
      let store = this.#store;
      let at = store ? this.#pending.byteOffset - store.byteOffset : 0;
      if (!store || at + total > store.length) {
        store = Buffer.allocUnsafe(total + Math.min(this.#pending.length, HIGH_WATER_BYTES));
        this.#pending.copy(store, 0);
        at = 0;
      }
      const start = at;
      at += this.#pending.length;
      for (const c of this.#chunks) at += c.copy(store, at);
      this.#store = store;
      this.#pending = store.subarray(start, at);
    }
    this.#chunks = [];
    this.#chunkBytes = 0;
    return this.#pending;
  }

  dispose(): void {
    this.#source.off('data', this.#onData);
    this.#source.off('end', this.#onEnd);
    this.#source.off('close', this.#onEnd);
    this.#source.off('error', this.#onError);
    this.#ended = true;
    this.#notify();
  }

  /** An EventTarget listener (`signal.addEventListener('abort', reader)`): disposes the reader, without a closure per listener. */
  handleEvent(): void {
    this.dispose();
  }

  #data(chunk: Buffer): void {
    this.#received = true;
    this.#chunks.push(chunk);
    this.#chunkBytes += chunk.length;
    if (this.#available > HIGH_WATER_BYTES && !this.#paused) {
      this.#paused = true;
      this.#source.pause();
    }
    this.#notify();
  }

  #end(): void {
    this.#ended = true;
    this.#notify();
  }

  #failed(e: Error): void {
    this.#error ??= e;
    this.#notify();
  }

  /** Bytes, end, error or disposal: end the pending wait (an error wins, as it is what the read meets next). */
  #notify(): void {
    const w = this.#waiter;
    if (!w) return;
    this.#waiter = null;
    readDeadlines.cancel(this);
    if (this.#error) w.readFailed(this.#error);
    else w.dataReady();
  }

  /** The shared deadline timer: the pending wait timed out (called only once its deadline has passed). */
  onDeadline(): void {
    const w = this.#waiter;
    if (!w) return;
    this.#waiter = null;
    if (this.#error) w.readFailed(this.#error);
    else if (this.#ended) w.dataReady();
    else w.readFailed(new HalibutError(this.#waitKind, `no data received for ${this.#waitMs} ms`));
  }

  #consume(n: number): void {
    this.#merge();
    if (n >= this.#pending.length) {
      this.#pending = EMPTY;
      this.#store = null;
    } else {
      this.#pending = this.#pending.subarray(n);
    }
    if (this.#paused && this.#pending.length < HIGH_WATER_BYTES / 2) {
      this.#paused = false;
      this.#source.resume();
    }
  }

  /**
   * Wait until more bytes, end or error arrive, or the timeout fires (an idle timeout: each
   * wait starts it afresh). Not an async function: one promise told by #notify or onDeadline,
   * its timeout a deadline of the shared timer.
   */
  #more(o: ReadOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#wait(o, { dataReady: resolve, readFailed: reject }));
  }

  /** Start a wait for `w` (told once, possibly at once). */
  #wait(o: ReadOptions, w: ReadWaiter): void {
    if (this.#error) {
      w.readFailed(this.#error);
      return;
    }
    if (this.#ended) {
      w.readFailed(new HalibutError('closed.by-peer', 'the connection was closed by the other end'));
      return;
    }
    // A read that needs more bytes than the high-water mark (a large data stream or message)
    // must let the source flow again, or it would wait for bytes that never come.
    if (this.#paused) {
      this.#paused = false;
      this.#source.resume();
    }
    this.#waitMs = o.timeoutMs;
    this.#waitKind = o.timeoutKind ?? 'timeout.receive';
    this.#waiter = w;
    readDeadlines.schedule(this, now() + o.timeoutMs);
  }

  /**
   * Resolves once a byte is buffered (at once if one is): the first-byte wait of the next
   * message, without the frames of readMessage suspended for the whole idle time. Fails as
   * readMessage's first wait would: its timeout, the peer's close, a socket error.
   */
  waitForData(o: ReadOptions): Promise<void> {
    return this.#available > 0 ? Promise.resolve() : this.#more(o);
  }

  /**
   * waitForData without a promise: `w.dataReady()` once a byte is buffered (at once, before
   * returning, if one is; also when the source ended, so that the next read meets the end),
   * `w.readFailed(e)` on timeout or error. A polling connection's idle wait: the session is the
   * waiter, so a held connection keeps no promise, reaction or closure for it.
   */
  waitForDataThen(o: ReadOptions, w: ReadWaiter): void {
    if (this.#available > 0) w.dataReady();
    else this.#wait(o, w);
  }

  /**
   * Node side: read the preamble byte by byte until two `\n` in a row, dropping `\r`
   * (accepts `MX\r\n\r\n` and `MX\n\n`), at most 20,000 chars read (`\r` included). Returns the text read
   * (without `\r`); the caller checks whether it starts with `MX`.
   */
  async readPreamble(o: ReadOptions & { maxChars?: number }): Promise<string> {
    const max = o.maxChars ?? PREAMBLE_MAX_CHARS;
    let chars = 0;
    let text = '';
    let lastWasLf = false;
    for (;;) {
      const buf = this.#merge();
      let i = 0;
      for (; i < buf.length; i++) {
        // Every byte read counts towards the cap, dropped `\r`s included: a peer streaming
        // `\r` forever must not keep the node reading forever.
        if (++chars > max) {
          this.#consume(i);
          throw new HalibutError('protocol.bad-preamble', `no end of preamble within ${max} characters`);
        }
        const b = buf[i]!;
        if (b === CR) continue;
        if (b === LF) {
          if (lastWasLf) {
            this.#consume(i + 1);
            return text + '\n';
          }
          lastWasLf = true;
        } else {
          lastWasLf = false;
        }
        text += String.fromCharCode(b);
      }
      this.#consume(buf.length);
      await this.#more(o);
    }
  }

  /** One line ending in CRLF (a bare LF is not a line end), without the CRLF. */
  async readLine(o: ReadOptions): Promise<string> {
    let from = 0;
    for (;;) {
      const buf = this.#merge();
      const idx = buf.indexOf(CRLF, from, 'latin1');
      // Overlong whether or not its end arrived in the same chunk.
      if (idx > MAX_LINE_CHARS || (idx < 0 && buf.length > MAX_LINE_CHARS)) {
        throw new HalibutError('protocol.error', `line longer than ${MAX_LINE_CHARS} bytes`);
      }
      if (idx >= 0) {
        const line = buf.toString('utf8', 0, idx);
        this.#consume(idx + 2);
        return line;
      }
      from = Math.max(0, buf.length - 1);
      await this.#more(o);
    }
  }

  /** A control line (`NEXT`, `PROCEED`, `END`), skipping empty lines when asked. */
  async readControlLine(o: ReadOptions & { skipEmpty: boolean }): Promise<string> {
    for (;;) {
      const line = await this.readLine(o);
      if (line === '' && o.skipEmpty) continue;
      return line;
    }
  }

  /** Exactly `n` bytes. */
  async readExact(n: number, o: ReadOptions): Promise<Buffer> {
    while (this.#available < n) await this.#more(o);
    this.#merge();
    const out = Buffer.from(this.#pending.subarray(0, n));
    this.#consume(n);
    return out;
  }

  /**
   * One deflated message and the data streams its placeholders announce. Truncated input
   * waits for more bytes; garbage, an oversized inflate or a stream mismatch is a
   * protocol error.
   */
  async readMessage(o: ReadOptions & { firstByteTimeoutMs?: number; streamTo?: (ref: DataStreamRef) => DataStreamSink }): Promise<ReceivedMessage> {
    const inflater = new MessageInflater(this.#maxMessageBytes);
    let attempt: InflateAttempt & { done: true };
    try {
      attempt = await this.#readDeflated(inflater, o);
    } finally {
      inflater.close();
    }
    this.#consume(attempt.consumed);
    const message = bsonToMessage(attempt.bson);
    const refs =
      message.kind === 'request' ? findDataStreams(message.request.params) :
      message.kind === 'response' ? findDataStreams(message.response.result) : [];
    if (o.streamTo) {
      // Streamed to sinks: any size, as a real Tentacle accepts; nothing is held here.
      for (const ref of refs) await this.pipeDataStream(ref, o.streamTo(ref), o);
      return { message, wireBytes: attempt.consumed, streams: [] };
    }
    // All the data streams of one message are held at once: together they get the same cap
    // as one message, or a message announcing many capped streams would hold many times it.
    const announced = refs.reduce((n, r) => n + (r.length > 0n ? r.length : 0n), 0n);
    if (announced > BigInt(this.#maxMessageBytes)) {
      throw new HalibutError('protocol.message-too-large', `data streams of ${announced} bytes announced, over the ${this.#maxMessageBytes}-byte limit`);
    }
    const streams: Buffer[] = [];
    for (const ref of refs) streams.push(await this.readDataStream(ref, o));
    return { message, wireBytes: attempt.consumed, streams };
  }

  /** The raw-DEFLATE stream at the front of the buffer, inflated (see message-inflater.ts for the work bound). */
  async #readDeflated(inflater: MessageInflater, o: ReadOptions & { firstByteTimeoutMs?: number }): Promise<InflateAttempt & { done: true }> {
    let first = true;
    for (;;) {
      if (this.#available > 0) {
        const attempt = inflater.attempt(this.#merge());
        if (attempt.done) return attempt;
        if (this.#pending.length > this.#maxMessageBytes) {
          throw new HalibutError('protocol.message-too-large', `compressed message exceeds ${this.#maxMessageBytes} bytes`);
        }
      }
      const timeoutMs = first && this.#available === 0 && o.firstByteTimeoutMs !== undefined ? o.firstByteTimeoutMs : o.timeoutMs;
      first = false;
      try {
        await this.#more({ ...o, timeoutMs });
      } catch (e) {
        // A stream whose end was not checked on arrival is settled once more before giving up.
        if (isHalibutError(e) && (e.kind.startsWith('timeout.') || e.kind === 'closed.by-peer')) return inflater.settle(this.#merge(), e);
        throw e;
      }
    }
  }

  /**
   * One data stream of any size into `sink`, chunk by chunk as it arrives: at most the
   * reader's high-water mark (plus one socket chunk) is buffered at any time.
   */
  async pipeDataStream(expected: DataStreamRef, sink: DataStreamSink, o: ReadOptions): Promise<void> {
    const length = await this.#dataStreamHead(expected, o, BigInt(Number.MAX_SAFE_INTEGER));
    for (let left = Number(length); left > 0;) {
      if (this.#available === 0) await this.#more(o);
      const buf = this.#merge();
      const take = Math.min(left, buf.length);
      sink.write(buf.subarray(0, take));
      this.#consume(take);
      left -= take;
    }
    await this.#dataStreamTrailer(length, o);
    sink.end();
  }

  async #dataStreamHead(expected: DataStreamRef, o: ReadOptions, max: bigint): Promise<bigint> {
    const head = await this.readExact(24, o);
    const id = head.subarray(0, 16);
    if (!id.equals(expected.id.bytes)) {
      throw new HalibutError('protocol.stream-mismatch', `data stream id ${expected.id} expected, another arrived`);
    }
    const length = head.readBigInt64LE(16);
    if (length < 0n || length > max) {
      throw new HalibutError('protocol.stream-mismatch', `data stream length ${length} is out of range`);
    }
    if (length !== expected.length) {
      throw new HalibutError('protocol.stream-mismatch', `data stream announced ${expected.length} bytes, header says ${length}`);
    }
    return length;
  }

  async #dataStreamTrailer(length: bigint, o: ReadOptions): Promise<void> {
    const trailer = (await this.readExact(8, o)).readBigInt64LE(0);
    if (trailer !== length) {
      throw new HalibutError('protocol.stream-mismatch', `data stream length ${length} does not match trailing length ${trailer}`);
    }
  }

  /** One data stream: 16-byte GUID, int64 LE length, bytes, the same length again. */
  async readDataStream(expected: DataStreamRef, o: ReadOptions): Promise<Buffer> {
    const length = await this.#dataStreamHead(expected, o, BigInt(this.#maxMessageBytes));
    const data = await this.readExact(Number(length), o);
    await this.#dataStreamTrailer(length, o);
    return data;
  }
}
