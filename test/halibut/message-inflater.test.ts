/**
 * A message arriving in pieces: decoded exactly for any chunking, the same error kinds as whole
 * delivery, seen as soon as its last byte arrives, with inflate work linear in its size.
 */
import t from 'tap';
import fc from 'fast-check';
import { constants as zc, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { dataStreamRef, encodeDataStream, encodeMessage, messageToBson, tryInflate } from '../../src/halibut/codec.js';
import { Guid } from '../../src/halibut/guid.js';
import { HalibutError } from '../../src/halibut/halibut-error.js';
import { serviceEndPoint, type Message, type RequestMessage } from '../../src/halibut/messages.js';
import { IncrementalInflate, inflateWork, NEAR_END_EXACT_CHECKS } from '../../src/halibut/message-inflater.js';
import { ProtocolReader } from '../../src/halibut/reader.js';
import { feed, fuzzParams, memoryDuplex } from '../helpers/fuzz.js';

const MAX = 16 * 1024 * 1024;
const kindOf = (e: unknown) => (e instanceof HalibutError ? e.kind : `not a HalibutError: ${String(e)}`);
const ENDPOINT = serviceEndPoint('poll://g3662re9njtelsyfhm7t/', null, {
  pollingRequestQueueTimeoutMs: 1, retryListeningSleepIntervalMs: 1, retryCountLimit: 1, connectionErrorRetryTimeoutMs: 1, tcpClientConnectTimeoutMs: 1,
});

function request(text: string, streams: Buffer[] = []): { message: Message; ids: Guid[] } {
  const ids = streams.map(() => Guid.random());
  const r: RequestMessage = {
    id: 'IScriptService::StartScript[1]', activityId: Guid.random(), endpoint: ENDPOINT, service: 'IScriptService', method: 'StartScript',
    params: [text, ...ids.map((id, i) => dataStreamRef(id, streams[i]!.length))],
  };
  return { message: { kind: 'request', request: r }, ids };
}

/** Compressible text of about `n` characters (deterministic). */
function text(n: number, seed = 7): string {
  let s = seed;
  const words = ['deploy', 'tentacle', 'octopus', 'step', 'script', 'variable', 'package', 'release'];
  const out: string[] = [];
  for (let len = 0; len < n;) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const w = words[s % words.length]! + (s % 997);
    out.push(w);
    len += w.length + 1;
  }
  return out.join(' ');
}

/** Compressed bytes one whole stream at the front of `wire` takes (-1: not complete). */
function consumedBy(wire: Buffer): number {
  const r = tryInflate(wire, MAX);
  return r.done ? r.consumed : -1;
}

/** `bytes` cut into pieces of the given sizes, cycling through them. */
function pieces(bytes: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

interface Outcome {
  text: string;
  message?: Message;
  streams?: Buffer[];
  ms: number;
}

/** Feed `parts` one per tick (then end the input when asked), read one message and one line. */
async function readOver(parts: Buffer[], opts: { end?: boolean; timeoutMs?: number; max?: number; line?: boolean } = {}): Promise<Outcome> {
  const d = memoryDuplex();
  const reader = new ProtocolReader(d, { maxMessageBytes: opts.max ?? MAX });
  const o = { timeoutMs: opts.timeoutMs ?? 2_000 };
  const started = performance.now();
  const feeding = feed(d, parts, opts.end ?? true);
  let out: Outcome;
  try {
    const m = await reader.readMessage(o);
    const ms = performance.now() - started;
    let after = 'nothing read';
    if (opts.line ?? true) {
      try {
        after = JSON.stringify(await reader.readLine(o));
      } catch (e) {
        after = kindOf(e);
      }
    }
    out = { text: `message ${m.message.kind}, ${m.wireBytes} wire bytes, then ${after}`, message: m.message, streams: m.streams, ms };
  } catch (e) {
    out = { text: kindOf(e), ms: performance.now() - started };
  } finally {
    reader.dispose();
    await feeding;
    d.destroy();
  }
  return out;
}

t.test('the native inflater handle this relies on is there (else every arrival falls back to a one-shot inflate)', async (t) => {
  const inc = IncrementalInflate.create();
  t.ok(inc, 'IncrementalInflate.create() works on this Node');
  const wire = encodeMessage(request(text(5_000)).message);
  for (const b of wire) inc!.write(Buffer.from([b]), MAX);
  t.equal(inc!.outBytes, messageToBson(request(text(5_000)).message).length, 'all of the document, one byte at a time');
  t.notOk(inc!.ended, 'an end exactly at the last byte is not visible to it');
  inc!.write(Buffer.from('x'), MAX);
  t.ok(inc!.ended, 'a byte after the end shows it');
  inc!.close();
  const bad = IncrementalInflate.create()!;
  bad.write(Buffer.from('\xff\xff\xff\xff garbage', 'latin1'), MAX);
  t.ok(bad.failed, 'garbage stops it');
  bad.close();
  await new Promise((r) => setImmediate(r));
});

t.test('byte-at-a-time and random chunkings of real messages with data streams decode exactly', async (t) => {
  const streams = [Buffer.from('hello'), Buffer.alloc(3_000, 7), Buffer.alloc(0)];
  const { message, ids } = request(text(20_000), streams);
  const wire = encodeMessage(message);
  const input = Buffer.concat([wire, ...ids.map((id, i) => encodeDataStream(id, streams[i]!)), Buffer.from('NEXT\r\n')]);
  const expected = `message request, ${wire.length} wire bytes, then "NEXT"`;
  const byByte = await readOver(pieces(input, [1]));
  t.equal(byByte.text, expected, 'one byte at a time');
  t.same(byByte.message, message, 'the same message');
  t.same(byByte.streams, streams, 'the same data streams');

  const params = fuzzParams(40);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 200, max: 12_000 }), fc.integer({ min: 0, max: 3 }), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 12 }), async (size, count, sizes) => {
      const ss = Array.from({ length: count }, (_, i) => Buffer.alloc(i * 500 + 1, i));
      const { message: m, ids: mids } = request(text(size, size), ss);
      const w = encodeMessage(m);
      const bytes = Buffer.concat([w, ...mids.map((id, i) => encodeDataStream(id, ss[i]!)), Buffer.from('NEXT\r\n')]);
      const got = await readOver(pieces(bytes, sizes));
      if (got.text !== `message request, ${w.length} wire bytes, then "NEXT"`) throw new Error(`${got.text} (size ${size}, pieces ${sizes})`);
      t.same(got.message, m);
      t.same(got.streams, ss);
    }),
    params,
  );
  t.pass(`${params.numRuns} messages in random pieces`);
});

t.test('a complete message is seen when its last byte arrives, though nothing follows it', async (t) => {
  const { message } = request(text(8_000));
  const bson = messageToBson(message);
  // What .NET's DeflateStream writes after a Flush: a sync-flush (empty stored) block, then the
  // final empty block from Dispose -- the longest legitimate tail after the document's last byte.
  const dotnet = Buffer.concat([deflateRawSync(bson, { finishFlush: zc.Z_SYNC_FLUSH }), Buffer.from([0x03, 0x00])]);
  for (const [name, wire] of [['zlib', encodeMessage(message)], ['sync flush + final empty block', dotnet]] as const) {
    t.equal(consumedBy(wire), wire.length, `${name}: one whole stream`);
    for (const size of [1, 2, 5]) {
      // The peer waits for our answer: no byte follows, and a timeout far longer than the test takes.
      const got = await readOver(pieces(wire, [size]), { end: false, timeoutMs: 20_000, line: false });
      t.match(got.text, `message request, ${wire.length} wire bytes`, `${name} in ${size}-byte pieces`);
      t.ok(got.ms < 10_000, `${name} in ${size}-byte pieces: seen on arrival (${got.ms.toFixed(0)} ms)`);
    }
  }
});

t.test('a stream padded past the exact checks still decodes: at once when bytes follow, at the read timeout when not', async (t) => {
  const { message } = request(text(2_000));
  const padded = Buffer.concat([
    deflateRawSync(messageToBson(message), { finishFlush: zc.Z_SYNC_FLUSH }),
    ...Array.from({ length: 300 }, () => Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff])),
    Buffer.from([0x03, 0x00]),
  ]);
  t.equal(consumedBy(padded), padded.length, 'a valid stream');
  const followed = await readOver(pieces(Buffer.concat([padded, Buffer.from('NEXT\r\n')]), [1]));
  t.equal(followed.text, `message request, ${padded.length} wire bytes, then "NEXT"`);
  const alone = await readOver(pieces(padded, [1]), { end: false, timeoutMs: 300, line: false });
  t.match(alone.text, `message request, ${padded.length} wire bytes`, 'settled when the read times out');
});

t.test('hostile streams end in the same error kind in any pieces as delivered whole', async (t) => {
  const small = 16 * 1024;
  const { message } = request(text(3_000));
  const bson = messageToBson(message);
  const wire = encodeMessage(message);
  const header = Buffer.alloc(4);
  header.writeInt32LE(1_000);
  const cases: [string, Buffer, string][] = [
    ['a bomb of zeros', deflateRawSync(Buffer.alloc(small * 8)), 'protocol.message-too-large'],
    ['a bomb with a plausible document length', deflateRawSync(Buffer.concat([header, Buffer.alloc(small * 8)])), 'protocol.message-too-large'],
    ['more compressed bytes than the cap', deflateRawSync(Buffer.from(Array.from({ length: small * 2 }, (_, i) => (i * 7919) % 251)), { level: 0 }), 'protocol.message-too-large'],
    ['a truncated stream', wire.subarray(0, Math.floor(wire.length * 0.6)), 'closed.by-peer'],
    ['a zlib-wrapped stream', deflateSync(bson), 'protocol.bad-message'],
    ['a gzip-wrapped stream', gzipSync(bson), 'protocol.bad-message'],
    ['not DEFLATE at all', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'protocol.bad-message'],
    ['DEFLATE of something that is not BSON', deflateRawSync(Buffer.from('this is not bson at all')), 'protocol.bad-message'],
    ['a document with bytes after it', deflateRawSync(Buffer.concat([bson, Buffer.from('extra')])), 'protocol.bad-message'],
    ['trailing garbage after a complete stream', Buffer.concat([wire, Buffer.from('GARBAGE\r\n')]), `message request, ${wire.length} wire bytes, then "GARBAGE"`],
    ['trailing garbage, no line end', Buffer.concat([wire, Buffer.from('\xff\x00junk', 'latin1')]), `message request, ${wire.length} wire bytes, then closed.by-peer`],
  ];
  for (const [name, bytes, expected] of cases) {
    const whole = await readOver([bytes], { max: small });
    t.equal(whole.text, expected, `${name}: delivered whole`);
    for (const sizes of [[1], [3], [100], [1, 700, 2, 33]]) {
      const got = await readOver(pieces(bytes, sizes), { max: small });
      t.equal(got.text, whole.text, `${name}: in pieces of ${sizes.join(',')}`);
    }
  }
});

t.test('garbage whose end is not visible is still reported as garbage when the peer waits', async (t) => {
  // Not a BSON length in front: nothing checks its end on arrival, the read timeout settles it.
  const got = await readOver(pieces(deflateRawSync(Buffer.from('this is not bson at all')), [1]), { end: false, timeoutMs: 200 });
  t.equal(got.text, 'protocol.bad-message');
  const truncated = await readOver(pieces(encodeMessage(request(text(500)).message).subarray(0, 100), [1]), { end: false, timeoutMs: 200 });
  t.equal(truncated.text, 'timeout.receive', 'a truncated stream still times out');
});

t.test('work bound: bytes handed to the inflater for a message in 1-byte pieces are a small multiple of its size', async (t) => {
  const { message } = request(text(330_000));
  const wire = encodeMessage(message);
  t.ok(wire.length > 56 * 1024 && wire.length < 80 * 1024, `a ${wire.length}-byte message`);
  inflateWork.bytesIn = 0;
  const got = await readOver(pieces(Buffer.concat([wire, Buffer.from('NEXT\r\n')]), [1]));
  t.equal(got.text, `message request, ${wire.length} wire bytes, then "NEXT"`);
  const perByte = inflateWork.bytesIn / wire.length;
  t.comment(`${inflateWork.bytesIn} bytes inflated for ${wire.length} (x${perByte.toFixed(2)}); one-shot per arrival would be about x${(wire.length / 2).toFixed(0)}`);
  t.ok(perByte <= 4, 'at most 4 times the message size');

  inflateWork.bytesIn = 0;
  await readOver([wire]);
  t.equal(inflateWork.bytesIn, wire.length, 'delivered whole: one one-shot inflate');

  // Hostile: the document complete, then thousands of empty blocks trickled one byte at a time.
  const padded = Buffer.concat([
    deflateRawSync(messageToBson(message), { finishFlush: zc.Z_SYNC_FLUSH }),
    ...Array.from({ length: 4_000 }, () => Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff])),
    Buffer.from([0x03, 0x00]),
  ]);
  inflateWork.bytesIn = 0;
  const hostile = await readOver(pieces(Buffer.concat([padded, Buffer.from('NEXT\r\n')]), [1]));
  t.equal(hostile.text, `message request, ${padded.length} wire bytes, then "NEXT"`);
  const hostilePerByte = inflateWork.bytesIn / padded.length;
  t.comment(`padded: ${inflateWork.bytesIn} bytes inflated for ${padded.length} (x${hostilePerByte.toFixed(2)})`);
  t.ok(hostilePerByte <= 2 + NEAR_END_EXACT_CHECKS + Math.log2(padded.length), 'bounded by the exact checks plus doubling');
});

t.test('CPU: 1 MB in 64-byte pieces costs a small multiple of feeding those pieces alone', async (t) => {
  // Catches quadratic work anywhere on the way (the inflater, or the reader re-concatenating its
  // buffer on each arrival: about 2 s here, 10 times the feeding), with a margin for a loaded machine.
  const { message } = request(text(5_300_000));
  const wire = encodeMessage(message);
  t.ok(wire.length > 900_000, `a ${wire.length}-byte message`);
  const parts = pieces(wire, [64]);
  const cpu = async (read: boolean): Promise<number> => {
    const d = memoryDuplex();
    const reader = read ? new ProtocolReader(d, { maxMessageBytes: MAX }) : null;
    if (!reader) d.on('data', () => {});
    const before = process.cpuUsage();
    const pending = reader?.readMessage({ timeoutMs: 10_000 });
    await feed(d, parts, false);
    const got = await pending;
    const used = process.cpuUsage(before);
    if (reader) t.equal(got?.wireBytes, wire.length, 'decoded');
    reader?.dispose();
    d.destroy();
    return (used.user + used.system) / 1000;
  };
  // The smaller of two runs each: less noise from other work on the machine.
  const baseline = Math.min(await cpu(false), await cpu(false));
  const reading = Math.min(await cpu(true), await cpu(true));
  t.comment(`feeding ${parts.length} pieces: ${baseline.toFixed(0)} ms CPU; reading the message from them: ${reading.toFixed(0)} ms`);
  t.ok(reading < 5 * baseline + 300, 'within 5 times the feeding cost + 300 ms');
});
