import t from 'tap';
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { Guid } from '../../src/halibut/guid.js';
import { dataStreamRef, encodeMessage } from '../../src/halibut/codec.js';
import { HashingSink, syntheticPayload, syntheticPayloadSha256, writeMessageWithStreams } from '../../src/halibut/data-stream.js';
import { ProtocolReader } from '../../src/halibut/reader.js';
import { serviceEndPoint } from '../../src/halibut/messages.js';

const CAP = 1024 * 1024; // the message cap: data streams are not bound by it when streamed
const ENDPOINT = serviceEndPoint('poll://x/', null, { pollingRequestQueueTimeoutMs: 1, retryListeningSleepIntervalMs: 1, retryCountLimit: 1, connectionErrorRetryTimeoutMs: 1, tcpClientConnectTimeoutMs: 1 });

t.test('a data stream far over the message cap is streamed into a sink with bounded buffering and the right hash', async (t) => {
  const length = 40 * 1024 * 1024;
  const id = Guid.random();
  const request = { id: 'r', activityId: Guid.random(), endpoint: ENDPOINT, service: 'IFileTransferService', method: 'UploadFile', params: ['p', dataStreamRef(id, length)] };
  const pipe = new PassThrough({ highWaterMark: 64 * 1024 });
  const reader = new ProtocolReader(pipe, { maxMessageBytes: CAP });
  const writing = writeMessageWithStreams(pipe, encodeMessage({ kind: 'request', request }), [{ id, length, chunks: () => syntheticPayload('t', length) }]);
  let maxBuffered = 0;
  const sink = new HashingSink(id);
  const watched = { write: (c: Buffer) => { maxBuffered = Math.max(maxBuffered, reader.buffered); sink.write(c); }, end: () => sink.end() };
  const m = await reader.readMessage({ timeoutMs: 10_000, streamTo: () => watched });
  await writing;
  t.equal(m.message.kind, 'request');
  t.same(m.streams, [], 'nothing held');
  t.equal(sink.received.length, BigInt(length));
  t.equal(sink.received.sha256, syntheticPayloadSha256('t', length), 'the hash of what was sent');
  t.ok(maxBuffered <= 8 * 1024 * 1024, `at most ${maxBuffered} bytes buffered for a ${length}-byte stream`);
  reader.dispose();
});

t.test('without a sink the old bound holds: a stream over the cap is refused', async (t) => {
  const id = Guid.random();
  const request = { id: 'r', activityId: Guid.random(), endpoint: ENDPOINT, service: 's', method: 'm', params: [dataStreamRef(id, CAP + 1)] };
  const pipe = new PassThrough();
  const reader = new ProtocolReader(pipe, { maxMessageBytes: CAP });
  pipe.write(encodeMessage({ kind: 'request', request }));
  await t.rejects(reader.readMessage({ timeoutMs: 1_000 }), { name: 'HalibutError', kind: 'protocol.message-too-large' });
  reader.dispose();
});

t.test('a streamed data stream whose trailer does not match is a protocol error', async (t) => {
  const id = Guid.random();
  const request = { id: 'r', activityId: Guid.random(), endpoint: ENDPOINT, service: 's', method: 'm', params: [dataStreamRef(id, 3)] };
  const pipe = new PassThrough();
  const reader = new ProtocolReader(pipe, { maxMessageBytes: CAP });
  const len = Buffer.alloc(8);
  len.writeBigInt64LE(3n);
  const bad = Buffer.alloc(8);
  bad.writeBigInt64LE(4n);
  pipe.write(Buffer.concat([encodeMessage({ kind: 'request', request }), id.bytes, len, Buffer.from('abc'), bad]));
  await t.rejects(reader.readMessage({ timeoutMs: 1_000, streamTo: (r) => new HashingSink(r.id) }), { name: 'HalibutError', kind: 'protocol.stream-mismatch' });
  reader.dispose();
});

t.test('syntheticPayload is deterministic and of the asked length', async (t) => {
  const a = Buffer.concat([...syntheticPayload('s', 100_000)]);
  const b = Buffer.concat([...syntheticPayload('s', 100_000)]);
  t.equal(a.length, 100_000);
  t.ok(a.equals(b));
  t.equal(createHash('sha256').update(a).digest('hex'), syntheticPayloadSha256('s', 100_000));
  t.not(Buffer.concat([...syntheticPayload('other', 100)]).toString('hex'), a.subarray(0, 100).toString('hex'));
});
