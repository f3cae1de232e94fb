/**
 * Property-based fuzzing of the protocol layer without sockets (fast, most of the volume):
 * the codec, the reader, both sessions over an in-memory stream, fed hostile bytes in
 * random chunks or one byte at a time. Every input must end in a clean protocol error
 * (a HalibutError with a protocol./timeout./closed. kind) or a clean end -- never another
 * exception, never a wait past the configured timeouts, never more buffered than the cap.
 */
import fc from 'fast-check';
import t from 'tap';
import { bsonToMessage, findDataStreams, tryInflate } from '../../src/halibut/codec.js';
import { ProtocolReader } from '../../src/halibut/reader.js';
import { runServerSession, type QueuedWork, type ServerHooks } from '../../src/halibut/server-session.js';
import { runSubscriberSession } from '../../src/halibut/subscriber-session.js';
import { requestId, serviceEndPoint } from '../../src/halibut/messages.js';
import { Guid } from '../../src/halibut/guid.js';
import { TentacleServices } from '../../src/tentacle/services.js';
import {
  arbBsonEls,
  arbChunking,
  arbEnvelope,
  arbNodeBytes,
  arbTentacleBytes,
  arbWireMessage,
  bsonBytes,
  type BsonEl,
  chunked,
  deeplyNested,
  fuzzParams,
  memoryDuplex,
  feed,
  expectClean,
} from '../helpers/fuzz.js';
import { withTimeout } from '../helpers/wait.js';
import { deflateRawSync } from 'node:zlib';
import { PassThrough } from 'node:stream';
import { TYPE_REQUEST_MESSAGE, TYPE_RESPONSE_MESSAGE } from '../../src/halibut/constants.js';
import { encodeDataStream, encodeMessage, dataStreamRef } from '../../src/halibut/codec.js';
import { isHalibutError } from '../../src/halibut/halibut-error.js';

/** Small cap so bombs and huge declared lengths hit it quickly. */
const MAX_MESSAGE_BYTES = 64 * 1024;
const TIMEOUT_MS = 25;

t.test('codec: any BSON document decodes to a message or a protocol error', async (t) => {
  const doc = fc.oneof(arbEnvelope.map(bsonBytes), arbBsonEls.map(bsonBytes), fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)));
  const params = fuzzParams(3_000);
  fc.assert(
    fc.property(doc, (bson) => {
      try {
        const m = bsonToMessage(bson);
        if (m.kind === 'request') findDataStreams(m.request.params);
        if (m.kind === 'response') findDataStreams(m.response.result);
      } catch (e) {
        expectClean(e);
      }
    }),
    params,
  );
  t.pass(`${params.numRuns} documents`);
});

t.test('codec: deep nesting is a protocol error, not a stack overflow', async (t) => {
  for (const kind of ['doc', 'arr'] as const) {
    for (const depth of [200, 5_000, 60_000]) {
      try {
        bsonToMessage(deeplyNested(depth, kind));
      } catch (e) {
        expectClean(e);
      }
    }
  }
  t.pass('nested 200, 5,000 and 60,000 levels');
});

t.test('codec: inflate never returns more than the cap', async (t) => {
  const params = fuzzParams(1_500);
  fc.assert(
    fc.property(arbWireMessage(MAX_MESSAGE_BYTES), (wire) => {
      try {
        const r = tryInflate(wire, MAX_MESSAGE_BYTES);
        if (r.done && r.bson.length > MAX_MESSAGE_BYTES) throw new Error(`inflated ${r.bson.length} bytes`);
      } catch (e) {
        expectClean(e);
      }
    }),
    params,
  );
  t.pass(`${params.numRuns} wire messages`);
});

t.test('reader: messages, lines and data streams in any chunking end cleanly and stay under the cap', async (t) => {
  const params = fuzzParams(250);
  let worst = 0;
  await fc.assert(
    fc.asyncProperty(arbNodeBytes(MAX_MESSAGE_BYTES), arbChunking, fc.boolean(), async (input, chunking, end) => {
      const d = memoryDuplex();
      const reader = new ProtocolReader(d, { maxMessageBytes: MAX_MESSAGE_BYTES });
      let peak = 0;
      d.on('data', () => (peak = Math.max(peak, reader.buffered)));
      const parts = chunked(input, chunking);
      const biggestChunk = parts.reduce((n, p) => Math.max(n, p.length), 0);
      const feeding = feed(d, parts, end);
      const o = { timeoutMs: TIMEOUT_MS };
      try {
        await withTimeout(
          (async () => {
            await reader.readLine(o);
            for (let i = 0; i < 8; i++) {
              const m = await reader.readMessage(o);
              const retained = m.streams.reduce((n, s) => n + s.length, 0);
              if (retained > MAX_MESSAGE_BYTES) throw new Error(`kept ${retained} bytes of data streams`);
              await reader.readControlLine({ ...o, skipEmpty: true });
            }
          })().catch(expectClean),
          5_000,
          'the reader to finish',
        );
      } finally {
        reader.dispose();
        await feeding;
        d.destroy();
      }
      // The cap plus the chunk that crossed it, at most (a socket hands over at most 64 KB at once;
      // the chunks here can be bigger).
      if (peak > MAX_MESSAGE_BYTES + biggestChunk) throw new Error(`buffered ${peak} bytes, chunks up to ${biggestChunk}`);
      worst = Math.max(worst, peak);
    }),
    params,
  );
  t.pass(`${params.numRuns} inputs; at most ${worst} bytes buffered (cap ${MAX_MESSAGE_BYTES} + one chunk)`);
});

/** The node side over an in-memory stream; the first poll hands out a request so a response is read. */
async function serveOnce(input: Buffer[], end: boolean): Promise<void> {
  const d = memoryDuplex();
  let handed = false;
  const work: QueuedWork = {
    request: {
      id: requestId('ICapabilitiesServiceV2', 'GetCapabilities', 1),
      activityId: Guid.random(),
      endpoint: serviceEndPoint('poll://abcdefghjklmnpqrstuv/', null, {
        pollingRequestQueueTimeoutMs: 1_000, retryListeningSleepIntervalMs: 1_000, retryCountLimit: 1,
        connectionErrorRetryTimeoutMs: 1_000, tcpClientConnectTimeoutMs: 1_000,
      }),
      service: 'ICapabilitiesServiceV2',
      method: 'GetCapabilities',
      params: [],
    },
  };
  const hooks: ServerHooks = {
    authorize: () => true,
    identified: () => true,
    nextWork: async () => {
      if (handed) return null;
      handed = true;
      return work;
    },
    sent: () => {},
    responded: () => {},
    requeue: () => {},
  };
  const stopping = new AbortController();
  const feeding = feed(d, input, end);
  try {
    await withTimeout(
      runServerSession(d, hooks, {
        pollingQueueWaitMs: 5, receiveResponseTimeoutMs: TIMEOUT_MS, receiveTimeoutMs: TIMEOUT_MS,
        heartbeatTimeoutMs: TIMEOUT_MS, maxMessageBytes: MAX_MESSAGE_BYTES,
      }, stopping.signal).catch(expectClean),
      // Every read is bounded by TIMEOUT_MS; the input is fed a byte per tick at most.
      5_000,
      'the node session to end',
    );
  } finally {
    stopping.abort();
    await feeding;
    d.destroy();
  }
}

t.test('node session: hostile tentacle bytes end in a protocol error or a clean end', async (t) => {
  const params = fuzzParams(250);
  await fc.assert(
    fc.asyncProperty(arbTentacleBytes(MAX_MESSAGE_BYTES), arbChunking, fc.boolean(), async (input, chunking, end) => {
      await serveOnce(chunked(input, chunking), end);
    }),
    params,
  );
  t.pass(`${params.numRuns} inputs`);
});

async function subscribeOnce(input: Buffer[], end: boolean): Promise<void> {
  const d = memoryDuplex();
  const services = new TentacleServices({ scriptRunMs: 10 });
  const stop = new AbortController();
  const feeding = feed(d, input, end);
  try {
    await withTimeout(
      runSubscriberSession(d, {
        identified: () => {},
        polled: () => {},
        handle: async (request) => ({ response: await services.handle(request) }),
      }, {
        subscriptionId: 'poll://abcdefghjklmnpqrstuv/', receiveRequestTimeoutMs: TIMEOUT_MS, receiveTimeoutMs: TIMEOUT_MS,
        heartbeatTimeoutMs: TIMEOUT_MS, maxMessageBytes: MAX_MESSAGE_BYTES,
      }, stop.signal).catch(expectClean),
      5_000,
      'the tentacle session to end',
    );
  } finally {
    stop.abort();
    await feeding;
    d.destroy();
  }
}

t.test('tentacle session: hostile node bytes end in a protocol error or a clean end', async (t) => {
  const params = fuzzParams(250);
  await fc.assert(
    fc.asyncProperty(arbNodeBytes(MAX_MESSAGE_BYTES), arbChunking, fc.boolean(), async (input, chunking, end) => {
      await subscribeOnce(chunked(input, chunking), end);
    }),
    params,
  );
  t.pass(`${params.numRuns} inputs`);
});

// ---------- regressions: shrunk counterexamples the properties found ----------

function kindOf(f: () => unknown): string {
  try {
    f();
    return 'none';
  } catch (e) {
    return isHalibutError(e) ? e.kind : `not a HalibutError: ${String(e)}`;
  }
}

t.test('regression: a $type that decodes to a bigint (a second, int64 $type) is a protocol error', async (t) => {
  // Found by the codec property: the error message's JSON.stringify threw a TypeError.
  const bson = bsonBytes([{ t: 'doc', k: 'Message', v: [{ t: 'str', k: '$type', v: 'Halibut.DataStream, Halibut' }, { t: 'i64', k: '$type', v: 1n }] }]);
  t.equal(kindOf(() => bsonToMessage(bson)), 'protocol.bad-message');
});

t.test('regression: nesting past the depth limit is protocol.bad-message; __proto__ is data', async (t) => {
  for (const depth of [70, 5_000, 200_000]) t.equal(kindOf(() => bsonToMessage(deeplyNested(depth))), 'protocol.bad-message', `depth ${depth}`);
  t.equal(kindOf(() => bsonToMessage(deeplyNested(40))), 'protocol.bad-message', 'a shallow unknown shape is still only a bad message');
  const proto = bsonBytes([{ t: 'doc', k: 'Message', v: [{ t: 'doc', k: '__proto__', v: [{ t: 'str', k: '$type', v: TYPE_REQUEST_MESSAGE }] }] }]);
  t.equal(kindOf(() => bsonToMessage(proto)), 'protocol.bad-message', 'a $type under __proto__ does not make a request');
  t.equal(({} as Record<string, unknown>)['$type'], undefined, 'Object.prototype untouched');
});

t.test('regression: data streams announced past the message cap are refused before they are read', async (t) => {
  // Three streams of the cap each were all read and held: three times the per-message bound.
  const ids = [Guid.random(), Guid.random(), Guid.random()];
  const request = {
    id: 'r', activityId: Guid.random(), service: 's', method: 'm',
    endpoint: serviceEndPoint('poll://x/', null, { pollingRequestQueueTimeoutMs: 1, retryListeningSleepIntervalMs: 1, retryCountLimit: 1, connectionErrorRetryTimeoutMs: 1, tcpClientConnectTimeoutMs: 1 }),
    params: ids.map((id) => dataStreamRef(id, MAX_MESSAGE_BYTES)),
  };
  const input = new PassThrough();
  const reader = new ProtocolReader(input, { maxMessageBytes: MAX_MESSAGE_BYTES });
  input.write(encodeMessage({ kind: 'request', request }));
  for (const id of ids) input.write(encodeDataStream(id, Buffer.alloc(MAX_MESSAGE_BYTES)));
  await t.rejects(reader.readMessage({ timeoutMs: 1_000 }), { name: 'HalibutError', kind: 'protocol.message-too-large' });
  reader.dispose();
  input.destroy();
});

t.test('regression: an overlong line whose CRLF arrives in the same chunk is refused', async (t) => {
  // A 30,000-byte identity line arriving in one chunk was returned whole.
  const input = new PassThrough();
  const reader = new ProtocolReader(input, { maxMessageBytes: MAX_MESSAGE_BYTES });
  input.write(Buffer.from('MX-SUBSCRIBER 1.0 poll://' + 'a'.repeat(30_000) + '/\r\n'));
  await t.rejects(reader.readLine({ timeoutMs: 1_000 }), { name: 'HalibutError', kind: 'protocol.error' });
  reader.dispose();
  input.destroy();
  t.equal(kindOf(() => tryInflate(deflateRawSync(Buffer.alloc(MAX_MESSAGE_BYTES + 1)), MAX_MESSAGE_BYTES)), 'protocol.message-too-large', 'a bomb stops at the cap');
});

t.test('regression: a ResponseMessage error that is not a ServerError is a protocol error; odd field types are made text', async (t) => {
  const response = (error: BsonEl) =>
    bsonBytes([{ t: 'doc', k: 'Message', v: [{ t: 'str', k: '$type', v: TYPE_RESPONSE_MESSAGE }, { t: 'str', k: 'id', v: 'r1' }, error] }]);
  t.equal(kindOf(() => bsonToMessage(response({ t: 'i32', k: 'error', v: 5 }))), 'protocol.bad-message');
  t.equal(kindOf(() => bsonToMessage(response({ t: 'str', k: 'error', v: 'boom' }))), 'protocol.bad-message');
  const m = bsonToMessage(response({ t: 'doc', k: 'error', v: [{ t: 'i64', k: 'message', v: 5n }, { t: 'str', k: 'extra', v: 'x' }] }));
  t.same(m.kind === 'response' && m.response.error, { message: '5n', details: null, HalibutErrorType: null });
});
