/**
 * Property-based fuzzing of polling over WebSockets without sockets: the frame decoder on
 * random frames (bad opcodes, reserved bits, wrong masking, lying or huge lengths, control
 * frames inside fragmented messages), and both protocol sessions running over a
 * WebSocketStream fed hostile frames carrying hostile protocol bytes, in random chunks or
 * one byte at a time. Every input ends in a clean protocol error or a clean end.
 */
import { Duplex } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import fc from 'fast-check';
import t from 'tap';
import { runServerSession } from '../../src/halibut/server-session.js';
import { runSubscriberSession } from '../../src/halibut/subscriber-session.js';
import { FrameDecoder, OPCODE_BINARY, OPCODE_CONTINUATION, OPCODE_TEXT, encodeFrame } from '../../src/halibut/websocket-frames.js';
import { WebSocketStream } from '../../src/halibut/websocket-stream.js';
import { TentacleServices } from '../../src/tentacle/services.js';
import { arbChunking, arbNodeBytes, arbTentacleBytes, chunked, fuzzParams, isCleanProtocolError } from '../helpers/fuzz.js';
import { withTimeout } from '../helpers/wait.js';

const MAX = 64 * 1024;
const TIMEOUT_MS = 25;

interface RawFrame {
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
function rawFrame(f: RawFrame): Buffer {
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

function arbFrame(expectMasked: boolean): fc.Arbitrary<RawFrame> {
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
      fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.constantFrom(2n ** 63n, 2n ** 64n - 1n, BigInt(MAX + 1), 0x10000n)).map((lie) => ({ lie })),
    ),
  });
}

function expectClean(e: unknown): void {
  if (!isCleanProtocolError(e)) throw new Error(`not a clean protocol error: ${(e as Error)?.stack ?? String(e)}`);
}

t.test('frame decoder: any frames decode or fail with a protocol error, buffering at most one frame', async (t) => {
  const params = fuzzParams(2_000);
  fc.assert(
    fc.property(fc.boolean(), fc.array(arbFrame(true), { maxLength: 6 }), arbChunking, (server, frames, chunking) => {
      const decoder = new FrameDecoder({ maxFramePayload: MAX, expectMask: server ? 'masked' : 'unmasked' });
      const bytes = Buffer.concat(frames.map((f) => rawFrame({ ...f, masked: server ? f.masked : !f.masked })));
      try {
        for (const c of chunked(bytes, chunking)) {
          for (const f of decoder.push(c)) if (f.payload.length > MAX) throw new Error(`a ${f.payload.length}-byte frame passed`);
        }
      } catch (e) {
        expectClean(e);
      }
    }),
    params,
  );
  t.pass(`${params.numRuns} frame sequences`);
});

/** A fake socket under a WebSocketStream: what is pushed is what the stream reads. */
function memorySocket(): Duplex {
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

/**
 * Wrap protocol bytes into frames as a peer would (binary fragments that never set FIN),
 * then disturb the framing: pings and pongs between fragments, a text or close frame, a
 * wrong opcode, a frame without its mask.
 */
function arbFramedStream(protocol: fc.Arbitrary<Buffer>, fromClient: boolean): fc.Arbitrary<Buffer> {
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
      preamble: fc.oneof({ weight: 6, arbitrary: fc.constant(['MX']) }, fc.constant(['M', 'X']), fc.constant(['GET /']), fc.constant([])),
      protocol,
      cuts: fc.array(fc.nat(), { maxLength: 6 }),
      disturbances: fc.array(fc.tuple(fc.nat(), disturb), { maxLength: 2 }),
      raw: fc.option(fc.array(arbFrame(fromClient), { maxLength: 2 }), { freq: 4 }),
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

async function feed(d: Duplex, parts: Buffer[], end: boolean): Promise<void> {
  for (const p of parts) {
    if (d.destroyed) return;
    d.push(p);
    await tick();
  }
  if (end && !d.destroyed) d.push(null);
}

t.test('node session over a WebSocket: hostile frames end in a protocol error or a clean end', async (t) => {
  const params = fuzzParams(500);
  await fc.assert(
    fc.asyncProperty(arbFramedStream(arbTentacleBytes(MAX), true), arbChunking, fc.boolean(), async (bytes, chunking, end) => {
      const socket = memorySocket();
      const ws = new WebSocketStream(socket, { role: 'server', maxFramePayload: MAX });
      ws.on('error', expectClean);
      const stopping = new AbortController();
      const feeding = feed(socket, chunked(bytes, chunking), end);
      try {
        await withTimeout(
          runServerSession(ws, {
            authorize: () => true, identified: () => true, nextWork: async () => null, sent: () => {}, responded: () => {}, requeue: () => {},
          }, { pollingQueueWaitMs: 5, receiveResponseTimeoutMs: TIMEOUT_MS, receiveTimeoutMs: TIMEOUT_MS, heartbeatTimeoutMs: TIMEOUT_MS, maxMessageBytes: MAX }, stopping.signal)
            .catch(expectClean),
          5_000,
          'the node session to end',
        );
      } finally {
        stopping.abort();
        await feeding;
        ws.destroy();
      }
    }),
    params,
  );
  t.pass(`${params.numRuns} inputs`);
});

t.test('tentacle session over a WebSocket: hostile frames end in a protocol error or a clean end', async (t) => {
  const params = fuzzParams(500);
  await fc.assert(
    fc.asyncProperty(arbFramedStream(arbNodeBytes(MAX), false).map((b) => b), arbChunking, fc.boolean(), async (bytes, chunking, end) => {
      const socket = memorySocket();
      const ws = new WebSocketStream(socket, { role: 'client', maxFramePayload: MAX });
      ws.on('error', expectClean);
      const services = new TentacleServices({ scriptRunMs: 10 });
      const stop = new AbortController();
      const feeding = feed(socket, chunked(bytes, chunking), end);
      try {
        await withTimeout(
          runSubscriberSession(ws, { identified: () => {}, polled: () => {}, handle: async (r) => ({ response: await services.handle(r) }) }, {
            subscriptionId: 'poll://abcdefghjklmnpqrstuv/', receiveRequestTimeoutMs: TIMEOUT_MS, receiveTimeoutMs: TIMEOUT_MS,
            heartbeatTimeoutMs: TIMEOUT_MS, maxMessageBytes: MAX, preamble: Buffer.alloc(0),
          }, stop.signal).catch(expectClean),
          5_000,
          'the tentacle session to end',
        );
      } finally {
        stop.abort();
        await feeding;
        ws.destroy();
      }
    }),
    params,
  );
  t.pass(`${params.numRuns} inputs`);
});
