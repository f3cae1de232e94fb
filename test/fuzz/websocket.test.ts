/**
 * Property-based fuzzing of polling over WebSockets without sockets: the frame decoder on
 * random frames (bad opcodes, reserved bits, wrong masking, lying or huge lengths, control
 * frames inside fragmented messages), and both protocol sessions running over a
 * WebSocketStream fed hostile frames carrying hostile protocol bytes, in random chunks or
 * one byte at a time. Every input ends in a clean protocol error or a clean end.
 */
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import t from 'tap';
import { runServerSession } from '../../src/halibut/server-session.js';
import { runSubscriberSession } from '../../src/halibut/subscriber-session.js';
import { FrameDecoder } from '../../src/halibut/websocket-frames.js';
import { WebSocketStream } from '../../src/halibut/websocket-stream.js';
import { TentacleServices } from '../../src/tentacle/services.js';
import { arbChunking, arbFrame, arbFramedStream, arbNodeBytes, arbTentacleBytes, chunked, fuzzParams, rawFrame, memoryDuplex, feed, expectClean } from '../helpers/fuzz.js';
import { withTimeout } from '../helpers/wait.js';

const MAX = 64 * 1024;
const TIMEOUT_MS = 25;

t.test('frame decoder: any frames decode or fail with a protocol error, buffering at most one frame', async (t) => {
  const params = fuzzParams(2_000);
  fc.assert(
    fc.property(fc.boolean(), fc.array(arbFrame(true, MAX), { maxLength: 6 }), arbChunking, (server, frames, chunking) => {
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

t.test('node session over a WebSocket: hostile frames end in a protocol error or a clean end', async (t) => {
  const params = fuzzParams(500);
  await fc.assert(
    fc.asyncProperty(arbFramedStream(arbTentacleBytes(MAX), true), arbChunking, fc.boolean(), async (bytes, chunking, end) => {
      const socket = memoryDuplex();
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
      const socket = memoryDuplex();
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

t.test('regression: a ping flood from a peer that never reads does not grow the write buffer', async (t) => {
  // Every ping got a pong queued on a socket nobody drained: memory grew with the flood.
  const socket = new Duplex({ read() {}, write() { /* never completes: the peer does not read */ } });
  const ws = new WebSocketStream(socket, { role: 'server', maxFramePayload: MAX });
  ws.on('error', () => {});
  const ping = rawFrame({ fin: true, rsv: 0, opcode: 0x9, masked: true, key: Buffer.from([1, 2, 3, 4]), payload: Buffer.alloc(125, 7), lengthForm: 'auto' });
  for (let i = 0; i < 20; i++) socket.push(Buffer.concat(Array.from({ length: 500 }, () => ping)));
  await new Promise((r) => setImmediate(r));
  t.ok(socket.writableLength < 64 * 1024, `${socket.writableLength} bytes queued after 10,000 pings (1.3 MB)`);
  ws.destroy();
});
