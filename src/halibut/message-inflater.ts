import { createInflateRaw, constants as zc, type InflateRaw } from 'node:zlib';
import { tryInflate, type InflateAttempt } from './codec.js';
import { HalibutError } from './halibut-error.js';

/**
 * Finding the end of one raw-DEFLATE message that arrives in pieces, with total inflate work
 * linear in its size for any chunking.
 *
 * Why: a message has no length prefix, so its end is where the DEFLATE stream ends. Running a
 * one-shot `inflateRawSync` over everything buffered each time a piece arrives costs O(n^2) for
 * a message trickled in small pieces, and a peer doing that on purpose burns a core of the whole
 * process (every other connection in it suffers).
 *
 * Decision:
 * 1. The first attempt is one one-shot inflate of what is buffered (the common case: the whole
 *    message is there; nothing else happens, so that path is exactly what it was). Further arrivals
 *    get one-shot attempts too while those have cost at most twice what is buffered (a message in
 *    two halves costs what it did).
 * 2. After that, every byte is fed once to a persistent raw inflater driven
 *    synchronously with Z_SYNC_FLUSH. Its output is counted, not kept (only the first 4 bytes: the
 *    BSON document's total length L). It stops early on garbage, on more output than the cap, or
 *    when the stream ends with bytes after it -- each of those is settled by one one-shot inflate
 *    of the buffer, so error kinds and `consumed` are exactly what whole delivery gives.
 * 3. Node's inflater cannot say "the stream ended exactly at the last byte fed" (it only notices
 *    an end when input follows it; see `processCallback` in node's lib/zlib.js), and the peer
 *    waits for our answer after its last byte. So once the inflated output is exactly L, the end is
 *    at most a few bytes away (the end-of-block code, maybe an empty flush block): from then on a
 *    one-shot inflate runs on each arrival -- at most NEAR_END_EXACT_CHECKS times, then only each
 *    time the bytes after that point double (a stream padded with endless empty blocks is hostile;
 *    it still ends at the read timeout, which settles once more). A legitimate encoder (zlib, .NET's
 *    DeflateStream: a sync-flush block and a final empty block, under 10 bytes) stays within the
 *    exact checks even one byte at a time, so a complete message is seen when its last byte arrives.
 * 4. A document length that is impossible (under 5, over the cap) or output past L means the
 *    message cannot be valid: no checks are spent; it ends as whole delivery would, when the
 *    inflater stops, the caps are hit, or the read times out or the peer closes (`settle`).
 *
 * Work per message of n compressed bytes: under 2n of early one-shot attempts, n fed once, and a
 * few one-shot passes near the end (64 KB one byte at a time: 3.0n, asserted in
 * test/halibut/message-inflater.test.ts); a hostile stream gets at most about
 * 3 + NEAR_END_EXACT_CHECKS + log2(cap) passes. Memory: one zlib inflater (its 32 KB window and
 * state) per connection while a message arrives in pieces, on top of the buffered bytes.
 * Measured (2-core machine shared with other work, load average 8-11; CPU time to read one request
 * of compressible text fed through a PassThrough one piece per setImmediate, min / median of 5-9
 * runs; sizes are compressed bytes on the wire; "before" is a one-shot inflate of everything
 * buffered on each arrival):
 *   16 KB whole       0.41 / 1.1 ms before,  0.43 / 0.9 ms after
 *   16 KB in halves   0.78 / 1.1 ms before,  0.93 / 1.2 ms after
 *   16 KB, 16-byte    78 / 130 ms before,    7 / 18 ms after   (feeding the pieces alone: 7 / 13)
 *   16 KB, 1-byte     1,450 / 1,600 ms before, 57 / 67 ms after (feeding alone: 30 / 33)
 *   1 MB whole        17 / 21 ms before,      17 / 23 ms after
 *   1 MB in halves    21 / 24 ms before,      22 / 27 ms after
 *   1 MB, 1 KB pieces 3,980 / 4,000 ms before, 33 / 42 ms after (feeding alone: 4 / 8)
 *   1 MB, 64-byte     (too slow before)       86 / 89 ms after  (feeding alone: 46 / 47)
 *   1 MB, 16-byte     (too slow before)       250 / 270 ms after (feeding alone: 142 / 167)
 * The reader's buffer also had to stop being re-concatenated on each arrival (reader.ts #merge):
 * with the inflater alone, 1 MB in 16-byte pieces still took 4.6 s.
 */

/** Exact end checks once the output has reached the document length (see 3. above). */
export const NEAR_END_EXACT_CHECKS = 16;

/** Bytes handed to an inflater, one-shot or incremental (for the work-bound test). */
export const inflateWork = { bytesIn: 0 };

/** One scratch output buffer for all inflaters: every use is synchronous. */
const SCRATCH = Buffer.allocUnsafe(64 * 1024);

interface NativeZlibHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
}

/**
 * A raw inflater that takes bytes in any pieces, each byte once, and reports how much it has
 * inflated. Drives node's zlib handle synchronously (`writeSync`, the call `inflateRawSync` itself
 * uses); `create()` returns null where that is not available and the caller falls back to one-shot
 * inflates.
 */
export class IncrementalInflate {
  #stream: InflateRaw;
  #handle: NativeZlibHandle;
  #state: Uint32Array;
  /** Inflated bytes so far. */
  outBytes = 0;
  /** The first 4 inflated bytes (a BSON document's length). */
  readonly head = Buffer.alloc(4);
  /** The stream ended and bytes follow it. */
  ended = false;
  /** The inflater found garbage. */
  failed = false;
  /** More than the cap was inflated. */
  overflow = false;

  private constructor(stream: InflateRaw, handle: NativeZlibHandle, state: Uint32Array) {
    this.#stream = stream;
    this.#handle = handle;
    this.#state = state;
  }

  static create(): IncrementalInflate | null {
    // chunkSize: the stream's own output buffer is never used (SCRATCH is); keep it minimal.
    const stream = createInflateRaw({ chunkSize: zc.Z_MIN_CHUNK });
    // Garbage destroys the stream with an error emitted on the next tick: never unhandled.
    stream.on('error', () => {});
    const internals = stream as unknown as { _handle?: Partial<NativeZlibHandle> | null; _writeState?: unknown };
    const handle = internals._handle;
    const state = internals._writeState;
    if (!handle || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array) || state.length < 2) {
      stream.close();
      return null;
    }
    return new IncrementalInflate(stream, handle as NativeZlibHandle, state);
  }

  get stopped(): boolean {
    return this.ended || this.failed || this.overflow;
  }

  /** Inflate `input` (the next bytes of the stream), stopping at the end, at garbage or past `maxOut`. */
  write(input: Buffer, maxOut: number): void {
    if (this.stopped || input.length === 0) return;
    inflateWork.bytesIn += input.length;
    let off = 0;
    let len = input.length;
    for (;;) {
      this.#handle.writeSync(zc.Z_SYNC_FLUSH, input, off, len, SCRATCH, 0, SCRATCH.length);
      if (this.#stream.destroyed) {
        this.failed = true;
        return;
      }
      const availOut = this.#state[0]!;
      const availIn = this.#state[1]!;
      const produced = SCRATCH.length - availOut;
      if (this.outBytes < 4) SCRATCH.copy(this.head, this.outBytes, 0, Math.min(produced, 4 - this.outBytes));
      this.outBytes += produced;
      if (this.outBytes > maxOut) {
        this.overflow = true;
        return;
      }
      off += len - availIn;
      len = availIn;
      if (availOut !== 0) {
        // Output room left: zlib stopped because the input ran out, or because the stream ended
        // (then input is left over).
        if (availIn > 0) this.ended = true;
        return;
      }
    }
  }

  close(): void {
    this.#stream.close();
  }
}

/** One message's end detection over a buffer that only grows (see the comment at the top). */
export class MessageInflater {
  #max: number;
  #inc: IncrementalInflate | null = null;
  /** Bytes given to one-shot attempts before the incremental inflater started. */
  #oneShotBytes = 0;
  #native = true;
  /** Bytes of the buffer fed to the incremental inflater. */
  #fed = 0;
  /** Where the output first reached the document length (-1: not yet). */
  #nearEndAt = -1;
  #nearEndChecks = 0;
  #nextCheckTail = 0;

  constructor(maxMessageBytes: number) {
    this.#max = maxMessageBytes;
  }

  /** Whether the incremental inflater is in use (the message did not arrive whole). */
  get incremental(): boolean {
    return this.#inc !== null;
  }

  /** Call with everything buffered for this message each time more arrives (the buffer's start never changes). */
  attempt(buf: Buffer): InflateAttempt {
    // One-shot attempts while the earlier ones cost at most what is buffered now (the whole message
    // at once, or two halves: exactly what it was before; in all under twice the message); then the
    // incremental inflater.
    if (this.#inc === null && (this.#oneShotBytes <= buf.length || !this.#native)) {
      this.#oneShotBytes += buf.length;
      return this.#oneShot(buf);
    }
    if (this.#inc === null) {
      this.#inc = IncrementalInflate.create();
      if (this.#inc === null) {
        // Without the native handle: one-shot per arrival, as before.
        this.#native = false;
        return this.#oneShot(buf);
      }
    }
    const inc = this.#inc;
    inc.write(buf.subarray(this.#fed), this.#max);
    this.#fed = buf.length;
    if (inc.stopped) return this.#verdict(buf, inc);
    if (!this.#nearEnd(inc)) return { done: false };
    if (this.#nearEndAt < 0) this.#nearEndAt = buf.length;
    const tail = buf.length - this.#nearEndAt;
    if (this.#nearEndChecks >= NEAR_END_EXACT_CHECKS && tail < this.#nextCheckTail) return { done: false };
    this.#nearEndChecks++;
    this.#nextCheckTail = Math.max(1, tail * 2);
    return this.#oneShot(buf);
  }

  /**
   * The read timed out or the peer closed: settle once more what is buffered (a stream whose end
   * was not checked, a garbage stream that ended). Returns a complete message or throws its error;
   * otherwise throws `cause`.
   */
  settle(buf: Buffer, cause: unknown): InflateAttempt & { done: true } {
    if (this.#inc !== null && buf.length > 0) {
      const r = this.#oneShot(buf);
      if (r.done) return r;
    }
    throw cause;
  }

  close(): void {
    this.#inc?.close();
    this.#inc = null;
  }

  #nearEnd(inc: IncrementalInflate): boolean {
    if (inc.outBytes < 4) return false;
    const length = inc.head.readInt32LE(0);
    return length >= 5 && length <= this.#max && inc.outBytes === length;
  }

  /** The incremental inflater stopped: one one-shot inflate gives whole delivery's answer. */
  #verdict(buf: Buffer, inc: IncrementalInflate): InflateAttempt {
    const r = this.#oneShot(buf);
    if (r.done || inc.ended) return r;
    if (inc.overflow) throw new HalibutError('protocol.message-too-large', `message inflates to more than ${this.#max} bytes`);
    throw new HalibutError('protocol.bad-message', 'message is not valid raw DEFLATE');
  }

  #oneShot(buf: Buffer): InflateAttempt {
    inflateWork.bytesIn += buf.length;
    return tryInflate(buf, this.#max);
  }
}
