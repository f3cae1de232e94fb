import { createCipheriv, createHash, type Hash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Guid } from './guid.js';

/**
 * Data streams of any size ([H] section 3: after the message, per stream: 16-byte GUID,
 * int64 LE length, the bytes, the length again), sent and received in chunks so that a
 * 50 MiB package upload is never held in memory at once -- as a real Tentacle copies an
 * upload to disk while it arrives (OctopusTentacle
 * source/Octopus.Tentacle/Services/FileTransfer/FileTransferService.cs: `SaveToAsync`).
 */

/** Where a received data stream's bytes go, chunk by chunk (a hash, a file). */
export interface DataStreamSink {
  write(chunk: Buffer): void;
  /** All bytes arrived and the trailing length matched. */
  end(): void;
}

/** What is sent after a message: bytes in memory, or a source that produces them in chunks. */
export type OutgoingDataStream =
  | { id: Guid; data: Buffer }
  | { id: Guid; length: number; chunks: () => Iterable<Buffer> };

export function outgoingLength(s: OutgoingDataStream): number {
  return 'data' in s ? s.data.length : s.length;
}

function* outgoingChunks(s: OutgoingDataStream): Iterable<Buffer> {
  if ('data' in s) yield s.data;
  else yield* s.chunks();
}

/** A received data stream, kept as its length and running SHA-256 only (hex, lower case). */
export interface ReceivedDataStream {
  id: Guid;
  length: bigint;
  sha256: string;
}

/** A sink that keeps nothing but the length and the running SHA-256. */
export class HashingSink implements DataStreamSink {
  readonly #hash: Hash = createHash('sha256');
  #length = 0n;
  #digest: string | null = null;
  constructor(readonly id: Guid) {}
  write(chunk: Buffer): void {
    this.#hash.update(chunk);
    this.#length += BigInt(chunk.length);
  }
  end(): void {
    this.#digest ??= this.#hash.digest('hex');
  }
  get received(): ReceivedDataStream {
    this.end();
    return { id: this.id, length: this.#length, sha256: this.#digest! };
  }
}

/** Resolve when `d` may take more bytes; reject when it closes or fails first. */
function drained(d: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      d.off('drain', onDrain);
      d.off('close', onClose);
      d.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(Object.assign(new Error('the connection closed while a data stream was being written'), { code: 'ECONNRESET' }));
    const onError = (e: Error) => done(e);
    d.once('drain', onDrain);
    d.once('close', onClose);
    d.once('error', onError);
  });
}

/** Write one chunk, waiting for the socket to drain when its buffer is full (bounded memory). */
async function writeChunk(d: Duplex, chunk: Buffer): Promise<void> {
  if (d.destroyed || !d.writable) throw Object.assign(new Error('the connection is closed'), { code: 'ECONNRESET' });
  if (!d.write(chunk)) await drained(d);
}

/**
 * Write an already encoded message and then its data streams, chunk by chunk with
 * backpressure; resolves once everything is handed to the socket and flushed.
 */
export async function writeMessageWithStreams(d: Duplex, message: Buffer, streams: readonly OutgoingDataStream[] | undefined): Promise<void> {
  if (!streams?.length) {
    await new Promise<void>((resolve, reject) => d.write(message, (err) => (err ? reject(err) : resolve())));
    return;
  }
  await writeChunk(d, message);
  for (const s of streams) {
    const len = Buffer.alloc(8);
    const length = outgoingLength(s);
    len.writeBigInt64LE(BigInt(length));
    await writeChunk(d, Buffer.concat([s.id.bytes, len]));
    let sent = 0;
    for (const chunk of outgoingChunks(s)) {
      sent += chunk.length;
      if (sent > length) throw new Error(`data stream ${s.id} produced more than its ${length} bytes`);
      await writeChunk(d, chunk);
    }
    if (sent !== length) throw new Error(`data stream ${s.id} produced ${sent} of its ${length} bytes`);
    await new Promise<void>((resolve, reject) => d.write(len, (err) => (err ? reject(err) : resolve())));
  }
}

/** Chunk size of synthetic payloads. */
const SYNTHETIC_CHUNK_BYTES = 64 * 1024;

/**
 * Deterministic, incompressible bytes (AES-128-CTR keystream keyed by `seed`), made chunk by
 * chunk: any node can produce the same package for an upload from (seed, length) alone, and
 * the expected hash is known without keeping the bytes.
 */
export function* syntheticPayload(seed: string, length: number): Iterable<Buffer> {
  const key = createHash('sha256').update(`pollfleet-payload:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(SYNTHETIC_CHUNK_BYTES);
  for (let left = length; left > 0; left -= SYNTHETIC_CHUNK_BYTES) {
    yield cipher.update(left >= SYNTHETIC_CHUNK_BYTES ? zeros : zeros.subarray(0, left));
  }
}

const expectedHashes = new Map<string, string>();

/** SHA-256 (hex) of syntheticPayload(seed, length); computed once per (seed, length). */
export function syntheticPayloadSha256(seed: string, length: number): string {
  const k = `${seed}:${length}`;
  let h = expectedHashes.get(k);
  if (h === undefined) {
    const hash = createHash('sha256');
    for (const c of syntheticPayload(seed, length)) hash.update(c);
    h = hash.digest('hex');
    expectedHashes.set(k, h);
  }
  return h;
}
