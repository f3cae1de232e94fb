/**
 * Shared settings of the property-based fuzz tests (test/fuzz): a fixed seed and a bounded
 * number of runs in `npm test`; `npm run fuzz -- --runs N [--seed S]` (bench/fuzz.ts) sets
 * FUZZ_RUNS / FUZZ_SEED for long runs.
 */
import { Duplex } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { HalibutError } from '../../src/halibut/halibut-error.js';
import { OPCODE_BINARY, OPCODE_CONTINUATION, OPCODE_TEXT, encodeFrame } from '../../src/halibut/websocket-frames.js';

/** The seed of every fuzz property in `npm test`. */
export const DEFAULT_SEED = 0x5eed_f00d;

/**
 * fast-check parameters: `base` runs in `npm test`; with FUZZ_RUNS set, that many runs
 * (scaled by `share` for the slow socket targets, at least `base`).
 */
export function fuzzParams(base: number, share = 1): { seed: number; numRuns: number; endOnFailure: boolean } {
  const env = Number(process.env['FUZZ_RUNS']);
  const seed = process.env['FUZZ_SEED'] !== undefined && process.env['FUZZ_SEED'] !== '' ? Number(process.env['FUZZ_SEED']) : DEFAULT_SEED;
  const numRuns = Number.isInteger(env) && env > 0 ? Math.max(base, Math.round(env * share)) : base;
  return { seed, numRuns, endOnFailure: true };
}

/** The kinds an error of one hostile connection may end in. */
export function isCleanProtocolError(e: unknown): boolean {
  if (!(e instanceof HalibutError)) return false;
  return /^(protocol\.|timeout\.|closed\.)/.test(e.kind);
}

/** Split `bytes` into chunks: byte-at-a-time, or at the given cut points. */
export function chunked(bytes: Buffer, mode: { byteAtATime: boolean; cuts: number[] }): Buffer[] {
  // One byte at a time for the first 512 bytes (the parsers' edge cases are all there), the rest at once.
  if (mode.byteAtATime) return [...[...bytes.subarray(0, 512)].map((b) => Buffer.from([b])), ...(bytes.length > 512 ? [bytes.subarray(512)] : [])];
  const cuts = [...new Set(mode.cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const c of cuts) {
    if (c > at) out.push(bytes.subarray(at, c));
    at = Math.max(at, c);
  }
  if (at < bytes.length) out.push(bytes.subarray(at));
  return out;
}

export const arbChunking = fc.record({ byteAtATime: fc.boolean(), cuts: fc.array(fc.nat(), { maxLength: 8 }) });

// ---------- raw BSON, written by hand so it can be wrong ----------

export type BsonEl =
  | { t: 'str'; k: string; v: string }
  | { t: 'i32'; k: string; v: number }
  | { t: 'i64'; k: string; v: bigint }
  | { t: 'dbl'; k: string; v: number }
  | { t: 'bool'; k: string; v: boolean }
  | { t: 'null'; k: string }
  | { t: 'bin'; k: string; sub: number; v: Buffer }
  | { t: 'doc'; k: string; v: BsonEl[] }
  | { t: 'arr'; k: string; v: BsonEl[] }
  | { t: 'raw'; k: string; type: number; v: Buffer };

function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
}

/** BSON bytes of a document made of `els` (keys in the order given, duplicates kept). */
export function bsonBytes(els: BsonEl[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of els) {
    const key = cstr(e.k);
    switch (e.t) {
      case 'str': {
        const s = Buffer.from(e.v, 'utf8');
        const len = Buffer.alloc(4);
        len.writeInt32LE(s.length + 1);
        parts.push(Buffer.from([0x02]), key, len, s, Buffer.from([0]));
        break;
      }
      case 'i32': {
        const b = Buffer.alloc(4);
        b.writeInt32LE(e.v | 0);
        parts.push(Buffer.from([0x10]), key, b);
        break;
      }
      case 'i64': {
        const b = Buffer.alloc(8);
        b.writeBigInt64LE(BigInt.asIntN(64, e.v));
        parts.push(Buffer.from([0x12]), key, b);
        break;
      }
      case 'dbl': {
        const b = Buffer.alloc(8);
        b.writeDoubleLE(e.v);
        parts.push(Buffer.from([0x01]), key, b);
        break;
      }
      case 'bool':
        parts.push(Buffer.from([0x08]), key, Buffer.from([e.v ? 1 : 0]));
        break;
      case 'null':
        parts.push(Buffer.from([0x0a]), key);
        break;
      case 'bin': {
        const len = Buffer.alloc(4);
        len.writeInt32LE(e.v.length);
        parts.push(Buffer.from([0x05]), key, len, Buffer.from([e.sub & 0xff]), e.v);
        break;
      }
      case 'doc':
      case 'arr':
        parts.push(Buffer.from([e.t === 'doc' ? 0x03 : 0x04]), key, bsonBytes(e.v));
        break;
      case 'raw':
        parts.push(Buffer.from([e.type & 0xff]), key, e.v);
        break;
    }
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(4);
  head.writeInt32LE(body.length + 5);
  return Buffer.concat([head, body, Buffer.from([0])]);
}

/** `depth` documents nested in each other under `Message` (a stack-depth attack), written in one pass. */
export function deeplyNested(depth: number, kind: 'doc' | 'arr' = 'doc'): Buffer {
  const leaf = bsonBytes([{ t: 'null', k: 'x' }]);
  const inner = leaf.length + depth * 8; // each level: int32 length, type, 1-char key + NUL, trailing NUL
  const out = Buffer.alloc(4 + 1 + 8 + inner + 1);
  let at = 0;
  out.writeInt32LE(out.length, at);
  out[at + 4] = 0x03;
  at += 5;
  at += out.write('Message\0', at, 'latin1');
  for (let i = 0; i < depth; i++) {
    out.writeInt32LE(inner - i * 8, at);
    out[at + 4] = kind === 'arr' ? 0x04 : 0x03;
    out[at + 5] = kind === 'arr' ? 0x30 : 0x61;
    at += 7;
  }
  leaf.copy(out, at);
  // the closing NULs of every level are already zero
  return out;
}

export const TYPE_NAMES = [
  'Halibut.Transport.Protocol.RequestMessage, Halibut',
  'Halibut.Transport.Protocol.ResponseMessage, Halibut',
  'Halibut.DataStream, Halibut',
  'Unknown.Type, Nowhere',
  '',
];

const arbKey = fc.oneof(
  fc.constantFrom('Message', '$type', 'id', 'activityId', 'endpoint', 'BaseUri', 'service', 'method', 'params', 'error', 'result', 'length', '__proto__', 'constructor', '0', '1'),
  fc.string({ maxLength: 6 }).filter((s) => !s.includes('\0')),
);

const arbStr = fc.oneof(fc.constantFrom(...TYPE_NAMES), fc.string({ maxLength: 12 }), fc.constantFrom('poll://abc/', 'ICapabilitiesServiceV2', 'GetCapabilities'));

/** Arbitrary BSON elements, valid and invalid, nested a few levels. */
export const arbBsonEls: fc.Arbitrary<BsonEl[]> = fc.letrec<{ els: BsonEl[]; el: BsonEl }>((tie) => ({
  el: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ t: fc.constant('str' as const), k: arbKey, v: arbStr }),
    fc.record({ t: fc.constant('i32' as const), k: arbKey, v: fc.integer() }),
    fc.record({ t: fc.constant('i64' as const), k: arbKey, v: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) }),
    fc.record({ t: fc.constant('dbl' as const), k: arbKey, v: fc.double() }),
    fc.record({ t: fc.constant('bool' as const), k: arbKey, v: fc.boolean() }),
    fc.record({ t: fc.constant('null' as const), k: arbKey }),
    fc.record({ t: fc.constant('bin' as const), k: arbKey, sub: fc.constantFrom(0, 4, 3, 0x80, 2), v: fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)) }),
    fc.record({ t: fc.constant('doc' as const), k: arbKey, v: tie('els') }),
    fc.record({ t: fc.constant('arr' as const), k: arbKey, v: tie('els') }),
    fc.record({ t: fc.constant('raw' as const), k: arbKey, type: fc.integer({ min: 0, max: 255 }), v: fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)) }),
  ),
  els: fc.array(tie('el'), { maxLength: 5 }),
})).els;

/** A 16-byte GUID binary (subtype 4) element. */
export function guidEl(k: string, bytes: Buffer): BsonEl {
  return { t: 'bin', k, sub: 4, v: bytes };
}

/** Envelopes shaped like requests or responses, with fields of wrong types and placeholders of any length. */
export const arbEnvelope: fc.Arbitrary<BsonEl[]> = fc
  .record({
    type: fc.constantFrom(...TYPE_NAMES),
    typeAt: fc.nat({ max: 6 }),
    id: fc.oneof(fc.string({ maxLength: 20 }).map((v): BsonEl => ({ t: 'str', k: 'id', v })), fc.constant<BsonEl>({ t: 'i32', k: 'id', v: 7 })),
    extra: arbBsonEls,
    call: fc.constantFrom(
      ['ICapabilitiesServiceV2', 'GetCapabilities'], ['IScriptServiceV2', 'StartScript'], ['IScriptServiceV2', 'GetStatus'],
      ['IScriptServiceV2', 'CancelScript'], ['IScriptServiceV2', 'CompleteScript'], ['IScriptServiceV2', 'getstatusasync'], ['INope', 'X'],
    ),
    params: fc.array(
      fc.oneof(
        arbBsonEls.map((v): BsonEl => ({ t: 'doc', k: '0', v })),
        fc.record({ task: fc.string({ maxLength: 8 }), seq: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) }).map(({ task, seq }): BsonEl => ({
          t: 'doc', k: '0', v: [
            { t: 'doc', k: 'ScriptTicket', v: [{ t: 'str', k: 'TaskId', v: task }] },
            { t: 'doc', k: 'Ticket', v: [{ t: 'str', k: 'TaskId', v: task }] },
            { t: 'i64', k: 'LastLogSequence', v: seq },
            { t: 'str', k: 'ScriptBody', v: 'echo' },
          ],
        })),
      ),
      { maxLength: 1 },
    ),
    streams: fc.array(
      fc.record({
        id: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
        length: fc.oneof(fc.bigInt({ min: -5n, max: 64n }), fc.constantFrom(2n ** 40n, -(2n ** 63n), 2n ** 63n - 1n, 16n * 1024n * 1024n)),
        typed: fc.boolean(),
      }),
      { maxLength: 3 },
    ),
  })
  .map(({ type, typeAt, id, extra, call, params, streams }) => {
    const placeholders: BsonEl[] = streams.map((s, i) => ({
      t: 'doc',
      k: String(i),
      v: [...(s.typed ? [{ t: 'str', k: '$type', v: TYPE_NAMES[2]! } as BsonEl] : []), guidEl('id', s.id), { t: 'i64', k: 'length', v: s.length }],
    }));
    const fields: BsonEl[] = [
      id,
      { t: 'doc', k: 'endpoint', v: [{ t: 'str', k: 'BaseUri', v: 'poll://abc/' }] },
      { t: 'str', k: 'service', v: call[0] },
      { t: 'str', k: 'method', v: call[1] },
      { t: 'arr', k: 'params', v: [...placeholders, ...params] },
      { t: 'doc', k: 'result', v: placeholders },
      ...extra,
    ];
    fields.splice(Math.min(typeAt, fields.length), 0, { t: 'str', k: '$type', v: type });
    return [{ t: 'doc', k: 'Message', v: fields }] as BsonEl[];
  });

/** What a message's bytes may look like on the wire: deflated well, truncated, zlib-wrapped, not deflated, a bomb. */
export function arbWireMessage(maxMessageBytes: number): fc.Arbitrary<Buffer> {
  const bson = fc.oneof(arbEnvelope.map(bsonBytes), arbBsonEls.map(bsonBytes), fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)));
  return fc.oneof(
    { weight: 4, arbitrary: bson.map((b) => deflateRawSync(b)) },
    bson.chain((b) => {
      const d = deflateRawSync(b);
      return fc.nat({ max: Math.max(0, d.length - 1) }).map((n) => d.subarray(0, n));
    }),
    bson.map((b) => deflateRawSync(b).subarray(0)).chain((d) =>
      fc.tuple(fc.nat({ max: Math.max(0, d.length - 1) }), fc.integer({ min: 0, max: 255 })).map(([i, x]) => {
        const m = Buffer.from(d);
        if (m.length > 0) m[i] = m[i]! ^ (x || 1);
        return m;
      }),
    ),
    bson.map((b) => Buffer.concat([Buffer.from([0x78, 0x9c]), deflateRawSync(b)])),
    bson,
    fc.constantFrom(
      deflateRawSync(Buffer.alloc(maxMessageBytes + 1)), // a bomb: a few KB that inflate past the cap
      deflateRawSync(deeplyNested(4_000)),
      deflateRawSync(deeplyNested(4_000, 'arr')),
      Buffer.from('0000ffff'.repeat(4), 'hex'), // empty stored blocks, never final
    ),
  );
}

// ---------- byte streams of one connection ----------

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const text = (s: string) => Buffer.from(s, 'latin1');

export const arbPreamble: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(text('MX\r\n\r\n'), text('MX\n\n')) },
  fc.constantFrom(text('MX\r\n'), text('MX\r\r\n\n'), text('M\0X\n\n'), text('mx\r\n\r\n'), text('GET / HTTP/1.1\r\n\r\n'), text('MX' + '\r'.repeat(25_000))),
  bytes(40),
);

const LINE_ENDS = ['\r\n', '\n', '\r', '', '\0', '\r\r\n', '\n\r'];

/** A text line with any ending (bare LF, lone CR, NUL, none), sometimes overlong. */
export function arbLine(good: string[]): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...good).map((g) => text(g + '\r\n')) },
    fc.tuple(fc.oneof(fc.constantFrom(...good), fc.string({ maxLength: 30 })), fc.constantFrom(...LINE_ENDS)).map(([l, e]) => Buffer.from(l + e, 'utf8')),
    fc.tuple(fc.constantFrom(...good), fc.nat({ max: 40 }), fc.constantFrom('\0', '\r', '\n', ' ', '\xff')).map(([l, i, c]) => text(l.slice(0, i) + c + l.slice(i) + '\r\n')),
    fc.constantFrom(text('A'.repeat(30_000) + '\r\n'), text('B'.repeat(70_000))),
  );
}

export const SUBSCRIBER_LINES = ['MX-SUBSCRIBER 1.0 poll://abcdefghjklmnpqrstuv/', 'MX-SUBSCRIBER 1.0', 'MX-SUBSCRIBER 1.0 not a uri', 'MX-CLIENT 1.0', 'MX-SERVER 1.0', 'HTTP/1.1 502 Bad Gateway', ''];
export const SERVER_LINES = ['MX-SERVER 1.0', 'MX-SUBSCRIBER 1.0 poll://x/', 'HTTP/1.0 200 OK', 'MX-SERVER', ''];
export const CONTROL_LINES = ['NEXT', 'END', 'PROCEED', '', 'NEXT ', 'next'];

/** A data stream as it follows a message, with any GUID and any lengths. */
export const arbDataStream: fc.Arbitrary<Buffer> = fc
  .record({
    id: bytes(16),
    declared: fc.oneof(fc.bigInt({ min: -3n, max: 40n }), fc.constantFrom(2n ** 62n, -1n, 2n ** 31n)),
    data: bytes(40),
    trailer: fc.option(fc.bigInt({ min: -3n, max: 40n })),
  })
  .map(({ id, declared, data, trailer }) => {
    const d = Buffer.alloc(8);
    d.writeBigInt64LE(declared);
    const tr = Buffer.alloc(8);
    tr.writeBigInt64LE(trailer ?? declared);
    return Buffer.concat([id, d, data, tr]);
  });

/** Random bytes, truncation and a flipped byte over a well-formed stream. */
export function mutated(base: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc.tuple(base, fc.option(fc.nat()), fc.option(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }))), fc.option(bytes(16))).map(([b, cut, flip, tail]) => {
    let out = Buffer.from(b);
    if (flip && out.length > 0) out[flip[0] % out.length] ^= flip[1];
    if (cut !== null && out.length > 0) out = out.subarray(0, cut % (out.length + 1));
    if (tail) out = Buffer.concat([out, tail]);
    return out;
  });
}

/** What a tentacle may send a node: preamble, identity, then messages, data streams and control lines in any order. */
export function arbTentacleBytes(maxMessageBytes: number): fc.Arbitrary<Buffer> {
  const item = fc.oneof(arbWireMessage(maxMessageBytes), arbLine(CONTROL_LINES), arbDataStream, bytes(24));
  return mutated(
    fc.tuple(arbPreamble, arbLine(SUBSCRIBER_LINES), arbLine(['']), fc.array(item, { maxLength: 5 })).map(([p, i, b, rest]) => Buffer.concat([p, i, b, ...rest])),
  );
}

/** What a node may send a tentacle: identity, then messages, data streams and control lines in any order. */
export function arbNodeBytes(maxMessageBytes: number): fc.Arbitrary<Buffer> {
  const item = fc.oneof(arbWireMessage(maxMessageBytes), arbLine(CONTROL_LINES), arbDataStream, bytes(24));
  return mutated(fc.tuple(arbLine(SERVER_LINES), arbLine(['']), fc.array(item, { maxLength: 5 })).map(([i, b, rest]) => Buffer.concat([i, b, ...rest])));
}

// ---------- WebSocket frames ----------

export interface RawFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  key: Buffer;
  payload: Buffer;
  /** How the length is written: shortest form, a longer form than needed, or a lie. */
  lengthForm: 'auto' | '16' | '64' | { lie: bigint };
}

/** A frame written byte by byte, so every field can be wrong. */
export function rawFrame(f: RawFrame): Buffer {
  const len = f.payload.length;
  const form = f.lengthForm === 'auto' ? (len < 126 ? '7' : len < 0x10000 ? '16' : '64') : f.lengthForm;
  const declared = typeof form === 'object' ? form.lie : BigInt(len);
  const seven = typeof form === 'object' ? (declared < 126n ? '7' : declared < 0x10000n ? '16' : '64') : form;
  const head = Buffer.alloc(2 + (seven === '16' ? 2 : seven === '64' ? 8 : 0));
  head[0] = (f.fin ? 0x80 : 0) | (f.rsv & 0x70) | (f.opcode & 0x0f);
  head[1] = (f.masked ? 0x80 : 0) | (seven === '7' ? Number(declared) & 0x7f : seven === '16' ? 126 : 127);
  if (seven === '16') head.writeUInt16BE(Number(declared) & 0xffff, 2);
  if (seven === '64') head.writeBigUInt64BE(BigInt.asUintN(64, declared), 2);
  if (!f.masked) return Buffer.concat([head, f.payload]);
  const masked = Buffer.from(f.payload.map((b, i) => b ^ f.key[i & 3]!));
  return Buffer.concat([head, f.key, masked]);
}

export function arbFrame(expectMasked: boolean, maxFramePayload: number): fc.Arbitrary<RawFrame> {
  return fc.record({
    fin: fc.boolean(),
    rsv: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, fc.constantFrom(0x10, 0x20, 0x40, 0x70)),
    opcode: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0x0, 0x1, 0x2, 0x8, 0x9, 0xa) }, fc.integer({ min: 0, max: 15 })),
    masked: fc.oneof({ weight: 8, arbitrary: fc.constant(expectMasked) }, fc.boolean()),
    key: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => Buffer.from(a)),
    payload: fc.oneof({ weight: 8, arbitrary: fc.uint8Array({ maxLength: 140 }) }, fc.constant(new Uint8Array(70_000))).map((a) => Buffer.from(a)),
    lengthForm: fc.oneof(
      { weight: 8, arbitrary: fc.constant<'auto'>('auto') },
      fc.constantFrom<'16' | '64'>('16', '64'),
      fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.constantFrom(2n ** 63n, 2n ** 64n - 1n, BigInt(maxFramePayload + 1), 0x10000n)).map((lie) => ({ lie })),
    ),
  });
}

/**
 * Wrap protocol bytes into frames as a peer would (binary fragments that never set FIN),
 * then disturb the framing: pings and pongs between fragments, a text or close frame, a
 * wrong opcode, a frame without its mask.
 */
export function arbFramedStream(protocol: fc.Arbitrary<Buffer>, fromClient: boolean): fc.Arbitrary<Buffer> {
  const disturb = fc.oneof(
    fc.constantFrom(
      { fin: true, opcode: 0x9, payload: Buffer.from('ping') },
      { fin: true, opcode: 0xa, payload: Buffer.alloc(0) },
      { fin: true, opcode: OPCODE_TEXT, payload: Buffer.from('MX') },
      { fin: true, opcode: 0x8, payload: Buffer.from([0x03, 0xe8]) },
      { fin: true, opcode: 0x8, payload: Buffer.from([0x03]) },
      { fin: false, opcode: 0x9, payload: Buffer.alloc(0) },
      { fin: true, opcode: OPCODE_BINARY, payload: Buffer.from('x') },
      { fin: true, opcode: 0x3, payload: Buffer.alloc(0) },
    ),
  );
  return fc
    .record({
      // Only a tentacle opens with the text message MX; a node's stream starts with binary frames.
      preamble: fromClient
        ? fc.oneof({ weight: 6, arbitrary: fc.constant(['MX']) }, fc.constant(['M', 'X']), fc.constant(['GET /']), fc.constant([]))
        : fc.oneof({ weight: 8, arbitrary: fc.constant([]) }, fc.constant(['MX'])),
      protocol,
      cuts: fc.array(fc.nat(), { maxLength: 6 }),
      disturbances: fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, fc.array(fc.tuple(fc.nat(), disturb), { maxLength: 2 })),
      raw: fc.option(fc.array(arbFrame(fromClient, 64 * 1024), { maxLength: 2 }), { freq: 4 }),
    })
    .map(({ preamble, protocol, cuts, disturbances, raw }) => {
      const mask = fromClient;
      const frames: Buffer[] = [];
      preamble.forEach((p, i) =>
        frames.push(encodeFrame({ fin: i === preamble.length - 1, opcode: i === 0 ? OPCODE_TEXT : OPCODE_CONTINUATION, payload: Buffer.from(p), mask })),
      );
      const parts = chunked(protocol, { byteAtATime: false, cuts });
      parts.forEach((p, i) => frames.push(encodeFrame({ fin: false, opcode: i === 0 ? OPCODE_BINARY : OPCODE_CONTINUATION, payload: p, mask })));
      for (const [at, d] of disturbances) {
        // encodeFrame refuses a fragmented control frame: write that one by hand
        const bytes = d.opcode >= 8 && !d.fin
          ? rawFrame({ fin: false, rsv: 0, opcode: d.opcode, masked: mask, key: Buffer.from([1, 2, 3, 4]), payload: d.payload, lengthForm: 'auto' })
          : encodeFrame({ ...d, mask });
        frames.splice(frames.length === 0 ? 0 : at % (frames.length + 1), 0, bytes);
      }
      if (raw) frames.splice(frames.length >> 1, 0, ...raw.map(rawFrame));
      return Buffer.concat(frames);
    });
}

/** An in-memory connection: bytes pushed in are what the reader sees; what it writes is dropped. */
export function memoryDuplex(): Duplex {
  return new Duplex({
    read() {},
    write(_c, _e, cb) {
      cb();
    },
    final(cb) {
      cb();
    },
  });
}

/** Push `parts` one per tick (so readers see them apart), then end the input when asked. */
export async function feed(d: Duplex, parts: Buffer[], end: boolean): Promise<void> {
  for (const p of parts) {
    if (d.destroyed) return;
    d.push(p);
    await tick();
  }
  if (end && !d.destroyed) d.push(null);
}

/** Throw (failing the property) unless `e` is a clean protocol error. */
export function expectClean(e: unknown): void {
  if (!isCleanProtocolError(e)) throw new Error(`not a clean protocol error: ${(e as Error)?.stack ?? String(e)}`);
}
