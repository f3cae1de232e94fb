import t from 'tap';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { createDeflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import { BSON, Binary, Int32, Long } from 'bson';
import {
  NULL_MESSAGE_BSON,
  NULL_MESSAGE_DEFLATED,
  TYPE_CAPABILITIES_RESPONSE_V2,
  TYPE_DATA_STREAM,
  TYPE_REQUEST_MESSAGE,
  TYPE_RESPONSE_MESSAGE,
  TYPE_SCRIPT_TICKET,
  TYPE_START_SCRIPT_COMMAND_V2,
} from '../../src/halibut/constants.js';
import {
  bsonToMessage,
  dataStreamRef,
  encodeDataStream,
  encodeMessage,
  findDataStreams,
  messageToBson,
  tryInflate,
} from '../../src/halibut/codec.js';
import { HalibutError } from '../../src/halibut/halibut-error.js';
import { Guid } from '../../src/halibut/guid.js';
import { errorResponse, okResponse, requestId, serviceEndPoint, type RequestMessage } from '../../src/halibut/messages.js';
import { ProtocolReader } from '../../src/halibut/reader.js';

const MiB = 1024 * 1024;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const kindOf = (e: unknown) => (e instanceof HalibutError ? e.kind : `not a HalibutError: ${String(e)}`);

const ACTIVITY = Guid.parse('00112233-4455-6677-8899-aabbccddeeff');
const ENDPOINT = serviceEndPoint('poll://g3662re9njtelsyfhm7t/', '77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6', {
  pollingRequestQueueTimeoutMs: 120_000,
  retryListeningSleepIntervalMs: 1_000,
  retryCountLimit: 5,
  connectionErrorRetryTimeoutMs: 300_000,
  tcpClientConnectTimeoutMs: 60_000,
});

function sampleRequest(): RequestMessage {
  return {
    id: requestId('IScriptServiceV2', 'StartScript', 1, ACTIVITY),
    activityId: ACTIVITY,
    endpoint: ENDPOINT,
    service: 'IScriptServiceV2',
    method: 'StartScript',
    params: [
      {
        $type: TYPE_START_SCRIPT_COMMAND_V2,
        ScriptBody: 'echo hello',
        Isolation: 0,
        Ticket: { $type: TYPE_SCRIPT_TICKET, TaskId: 'ServerTasks-1' },
        Missing: null,
        Sequence: 1n << 40n,
      },
      42,
      'plain',
      null,
    ],
  };
}

/** Raw BSON of what goes on the wire, with BSON wrapper types kept (Int32 vs Long visible). */
function wireDoc(wire: Buffer): Record<string, any> {
  return BSON.deserialize(inflateRawSync(wire), { promoteValues: false, promoteBuffers: false });
}

function readerOver(): { input: PassThrough; reader: ProtocolReader } {
  const input = new PassThrough();
  return { input, reader: new ProtocolReader(input, { maxMessageBytes: MiB }) };
}

const READ = { timeoutMs: 2_000 };

/** `count` x `chunk` bytes of zeros, raw-deflated by streaming (never holds the whole input). */
async function deflateWithoutHoldingIt(count: number, chunk: number): Promise<Buffer> {
  const z = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  z.on('data', (b: Buffer) => out.push(b));
  const zeros = Buffer.alloc(chunk);
  for (let i = 0; i < count; i++) if (!z.write(zeros)) await once(z, 'drain');
  z.end();
  await once(z, 'end');
  return Buffer.concat(out);
}

t.test('the reference null message decodes to { Message: null }', async (t) => {
  const wire = Buffer.from([0xe3, 0x63, 0x60, 0x60, 0xe0, 0xf2, 0x4d, 0x2d, 0x2e, 0x4e, 0x4c, 0x4f, 0x65, 0x60, 0x00, 0x00]);
  const attempt = tryInflate(wire, MiB);
  t.ok(attempt.done, 'inflates completely');
  if (!attempt.done) return;
  t.equal(attempt.consumed, 16, 'uses all 16 bytes');
  t.equal(hex(attempt.bson), '0e0000000a4d6573736167650000', 'the 14 BSON bytes of the reference');
  t.same(bsonToMessage(attempt.bson), { kind: 'null' });
});

t.test('our null message is the reference bytes and inflates to the same 14 BSON bytes', async (t) => {
  const wire = encodeMessage({ kind: 'null' });
  t.equal(hex(wire), 'e3636060e0f24d2d2e4e4c4f65600000');
  t.equal(hex(inflateRawSync(wire)), '0e0000000a4d6573736167650000');
  t.equal(hex(messageToBson({ kind: 'null' })), hex(NULL_MESSAGE_BSON), 'the BSON writer produces the same envelope');
  t.equal(hex(deflateRawSync(NULL_MESSAGE_BSON, { level: 6 })), hex(NULL_MESSAGE_DEFLATED), 'zlib level 6 gives the reference 16 bytes');
});

t.test('GUIDs use .NET byte order', async (t) => {
  const g = Guid.parse('00112233-4455-6677-8899-aabbccddeeff');
  t.equal(hex(g.bytes), '33221100554477668899aabbccddeeff');
  t.equal(g.toString(), '00112233-4455-6677-8899-aabbccddeeff', 'text form round-trips');
  t.equal(Guid.parse('00112233-4455-6677-8899-AABBCCDDEEFF').toString(), '00112233-4455-6677-8899-aabbccddeeff');
  const r = Guid.random();
  t.match(r.toString(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'random GUIDs are version 4');
  t.throws(() => Guid.parse('not-a-guid'), RangeError);
  t.throws(() => new Guid(Buffer.alloc(15)), RangeError);
});

t.test('RequestMessage: field order, $type strings and BSON types on the wire', async (t) => {
  const wire = encodeMessage({ kind: 'request', request: sampleRequest() });
  const doc = wireDoc(wire);
  t.same(Object.keys(doc), ['Message']);
  const m = doc['Message'];
  t.same(Object.keys(m), ['$type', 'id', 'activityId', 'endpoint', 'service', 'method', 'params'], 'field order');
  t.equal(m.$type, 'Halibut.Transport.Protocol.RequestMessage, Halibut');
  t.equal(m.$type, TYPE_REQUEST_MESSAGE);
  t.equal(m.id, 'IScriptServiceV2::StartScriptAsync[1] / 00112233-4455-6677-8899-aabbccddeeff');
  t.ok(m.activityId instanceof Binary, 'activityId is BSON binary');
  t.equal(m.activityId.sub_type, 4, 'binary subtype 4 (UUID)');
  t.equal(hex(m.activityId.buffer.subarray(0, m.activityId.position)), '33221100554477668899aabbccddeeff');

  t.same(
    Object.keys(m.endpoint),
    ['BaseUri', 'RemoteThumbprint', 'PollingRequestQueueTimeout', 'RetryListeningSleepInterval', 'RetryCountLimit',
      'ConnectionErrorRetryTimeout', 'TcpClientConnectTimeout', 'Proxy', 'ForceResolveHost'],
    'ServiceEndPoint field order',
  );
  t.equal(m.endpoint.BaseUri, 'poll://g3662re9njtelsyfhm7t/');
  t.equal(m.endpoint.PollingRequestQueueTimeout, '00:02:00');
  t.equal(m.endpoint.RetryListeningSleepInterval, '00:00:01');
  t.ok(m.endpoint.RetryCountLimit instanceof Int32, 'RetryCountLimit is int32');
  t.equal(m.endpoint.RetryCountLimit.value, 5);
  t.equal(m.endpoint.ConnectionErrorRetryTimeout, '00:05:00');
  t.equal(m.endpoint.TcpClientConnectTimeout, '00:01:00');
  t.equal(m.endpoint.Proxy, null, 'Proxy written as null');
  t.equal(m.endpoint.ForceResolveHost, null, 'ForceResolveHost written as null');

  const [cmd, n, s, nil] = m.params;
  t.same(Object.keys(cmd), ['$type', 'ScriptBody', 'Isolation', 'Ticket', 'Missing', 'Sequence'], '$type first in a complex param');
  t.equal(cmd.$type, TYPE_START_SCRIPT_COMMAND_V2);
  t.equal(cmd.Ticket.$type, TYPE_SCRIPT_TICKET, 'nested $type kept');
  t.ok(cmd.Sequence instanceof Long, 'bigint is int64');
  t.equal(cmd.Sequence.toBigInt(), 1n << 40n);
  t.ok(cmd.Isolation instanceof Int32, 'small integer is int32');
  t.ok(n instanceof Int32, 'primitive param is a bare int32 (no $type)');
  t.equal(s, 'plain');
  t.equal(nil, null);
  t.ok(Object.prototype.hasOwnProperty.call(cmd, 'Missing') && cmd.Missing === null, 'nulls are written, not dropped');

  // Raw bytes: element type 0x0A precedes "Proxy\0"; "activityId\0" is 0x05 with length 16 and subtype 4.
  const bson = inflateRawSync(wire);
  const at = (name: string) => bson.indexOf(Buffer.from(name + '\0', 'latin1'));
  t.equal(bson[at('Proxy') - 1], 0x0a, 'Proxy element type is null (0x0A)');
  const a = at('activityId');
  t.equal(bson[a - 1], 0x05, 'activityId element type is binary (0x05)');
  const afterName = a + 'activityId\0'.length;
  t.equal(bson.readInt32LE(afterName), 16, 'binary length 16');
  t.equal(bson[afterName + 4], 0x04, 'binary subtype 0x04');
  t.equal(bson[at('Sequence') - 1], 0x12, 'Sequence element type is int64 (0x12)');
});

t.test('RequestMessage round-trips through the codec', async (t) => {
  const original = sampleRequest();
  const wire = encodeMessage({ kind: 'request', request: original });
  const attempt = tryInflate(wire, MiB);
  t.ok(attempt.done);
  if (!attempt.done) return;
  t.equal(attempt.consumed, wire.length);
  const m = bsonToMessage(attempt.bson);
  t.equal(m.kind, 'request');
  if (m.kind !== 'request') return;
  t.ok(m.request.activityId instanceof Guid && m.request.activityId.equals(ACTIVITY), 'activityId comes back as the same Guid');
  t.equal(m.request.id, original.id);
  t.same(m.request.endpoint, original.endpoint);
  const cmd = m.request.params[0] as Record<string, unknown>;
  t.equal(cmd['Sequence'], 1n << 40n, 'int64 decodes to bigint');
  t.equal(cmd['Isolation'], 0);
  t.same(cmd['Ticket'], { $type: TYPE_SCRIPT_TICKET, TaskId: 'ServerTasks-1' });
  t.equal(cmd['Missing'], null);
  t.same(m.request.params.slice(1), [42, 'plain', null]);
});

t.test('ResponseMessage: field order, $type, error shape, round trip', async (t) => {
  const id = 'ICapabilitiesServiceV2::GetCapabilitiesAsync[7] / 00112233-4455-6677-8899-aabbccddeeff';
  const result = {
    $type: TYPE_CAPABILITIES_RESPONSE_V2,
    SupportedCapabilities: ['IScriptService', 'IFileTransferService', 'IScriptServiceV2'],
  };
  const ok = wireDoc(encodeMessage({ kind: 'response', response: okResponse(id, result) }))['Message'];
  t.same(Object.keys(ok), ['$type', 'id', 'error', 'result'], 'field order');
  t.equal(ok.$type, 'Halibut.Transport.Protocol.ResponseMessage, Halibut');
  t.equal(ok.$type, TYPE_RESPONSE_MESSAGE);
  t.equal(ok.error, null, 'error written as null');
  t.same(Object.keys(ok.result), ['$type', 'SupportedCapabilities']);
  t.equal(ok.result.$type, 'Octopus.Tentacle.Contracts.Capabilities.CapabilitiesResponseV2, Octopus.Tentacle.Contracts');

  const voidResult = wireDoc(encodeMessage({ kind: 'response', response: okResponse(id, null) }))['Message'];
  t.ok(Object.prototype.hasOwnProperty.call(voidResult, 'result') && voidResult.result === null, 'void result written as null');

  const failed = wireDoc(encodeMessage({ kind: 'response', response: errorResponse(id, 'no such service') }))['Message'];
  t.same(Object.keys(failed.error), ['message', 'details', 'HalibutErrorType']);
  t.equal(failed.error.message, 'no such service');
  t.equal(failed.error.details, null);

  const attempt = tryInflate(encodeMessage({ kind: 'response', response: okResponse(id, result) }), MiB);
  t.ok(attempt.done);
  if (!attempt.done) return;
  t.same(bsonToMessage(attempt.bson), { kind: 'response', response: { id, error: null, result } });
});

t.test('bad envelopes are protocol.bad-message', async (t) => {
  const cases: [string, Buffer][] = [
    ['not BSON', Buffer.from('hello world, not bson')],
    ['no Message field', Buffer.from(BSON.serialize({ Other: 1 }))],
    ['Message is a number', Buffer.from(BSON.serialize({ Message: 5 }))],
    ['unknown $type', Buffer.from(BSON.serialize({ Message: { $type: 'Something.Else, X', id: 'x' } }))],
    ['request without endpoint', Buffer.from(BSON.serialize({ Message: { $type: TYPE_REQUEST_MESSAGE, id: 'x', service: 's', method: 'm' } }))],
    ['response without id', Buffer.from(BSON.serialize({ Message: { $type: TYPE_RESPONSE_MESSAGE, error: null, result: null } }))],
  ];
  for (const [name, bson] of cases) {
    t.throws(() => bsonToMessage(bson), { name: 'HalibutError', kind: 'protocol.bad-message' }, name);
  }
});

t.test('data streams: wire layout, reading after a message, placeholders with and without $type', async (t) => {
  const a = Guid.parse('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee');
  const b = Guid.parse('11111111-2222-3333-4444-555555555555');
  const bytes = encodeDataStream(a, Buffer.from('hello'));
  t.equal(
    hex(bytes),
    hex(a.bytes) + '0500000000000000' + hex(Buffer.from('hello')) + '0500000000000000',
    'GUID, int64 LE length, bytes, length again',
  );

  const request: RequestMessage = {
    ...sampleRequest(),
    params: [dataStreamRef(a, 5), { $type: 'Some.Command, X', Contents: { id: b, length: 3n } }],
  };
  const doc = wireDoc(encodeMessage({ kind: 'request', request }));
  t.same(Object.keys(doc['Message'].params[0]), ['$type', 'id', 'length']);
  t.equal(doc['Message'].params[0].$type, TYPE_DATA_STREAM);
  t.ok(doc['Message'].params[0].length instanceof Long, 'stream length is int64');

  const { input, reader } = readerOver();
  input.write(Buffer.concat([
    encodeMessage({ kind: 'request', request }),
    encodeDataStream(a, Buffer.from('hello')),
    encodeDataStream(b, Buffer.from('abc')),
    Buffer.from('NEXT\r\n'),
  ]));
  const got = await reader.readMessage(READ);
  t.equal(got.message.kind, 'request');
  t.same(got.streams.map((s) => s.toString()), ['hello', 'abc'], 'both streams, in document order');
  t.equal(await reader.readControlLine({ ...READ, skipEmpty: true }), 'NEXT', 'what follows the streams is left for the next read');
  t.equal(reader.buffered, 0);
  reader.dispose();

  t.same(findDataStreams([{ id: a, length: 1n, Extra: 1 }]), [], 'an object with other keys is not a placeholder');
  t.same(findDataStreams([{ $type: 'Other, X', id: a, length: 1n }]), [], 'another $type is not a placeholder');
});

t.test('data stream mismatches are protocol.stream-mismatch', async (t) => {
  const a = Guid.parse('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee');
  const request: RequestMessage = { ...sampleRequest(), params: [dataStreamRef(a, 5)] };
  const head = encodeMessage({ kind: 'request', request });
  const len = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return b;
  };
  const cases: [string, Buffer][] = [
    ['trailing length differs', Buffer.concat([a.bytes, len(5), Buffer.from('hello'), len(6)])],
    ['leading length differs from the placeholder', Buffer.concat([a.bytes, len(4), Buffer.from('hell'), len(4)])],
    ['another stream id', Buffer.concat([Guid.random().bytes, len(5), Buffer.from('hello'), len(5)])],
  ];
  for (const [name, stream] of cases) {
    const { input, reader } = readerOver();
    input.write(Buffer.concat([head, stream]));
    await t.rejects(reader.readMessage(READ), { name: 'HalibutError', kind: 'protocol.stream-mismatch' }, name);
    reader.dispose();
  }
});

t.test('two messages and NEXT in one buffer are split correctly', async (t) => {
  const { input, reader } = readerOver();
  const response = okResponse('id-1', 'done');
  input.write(Buffer.concat([
    encodeMessage({ kind: 'null' }),
    encodeMessage({ kind: 'response', response }),
    Buffer.from('NEXT\r\n'),
  ]));
  const first = await reader.readMessage(READ);
  t.same(first.message, { kind: 'null' });
  t.equal(first.wireBytes, 16);
  const second = await reader.readMessage(READ);
  t.same(second.message, { kind: 'response', response });
  t.equal(await reader.readControlLine({ ...READ, skipEmpty: false }), 'NEXT');
  t.equal(reader.buffered, 0, 'nothing left over');
  reader.dispose();
});

t.test('a message arriving in 1-byte chunks decodes', async (t) => {
  const { input, reader } = readerOver();
  const wire = Buffer.concat([encodeMessage({ kind: 'request', request: sampleRequest() }), Buffer.from('NEXT\r\n')]);
  const pending = reader.readMessage(READ);
  for (let i = 0; i < wire.length; i++) {
    input.write(wire.subarray(i, i + 1));
    await new Promise((r) => setImmediate(r));
  }
  const got = await pending;
  t.equal(got.message.kind, 'request');
  t.equal(got.wireBytes, wire.length - 6);
  t.equal(await reader.readLine(READ), 'NEXT');
  reader.dispose();
});

t.test('truncated input waits for the rest instead of failing', async (t) => {
  const { input, reader } = readerOver();
  const wire = encodeMessage({ kind: 'request', request: sampleRequest() });
  const half = Math.floor(wire.length / 2);
  let settled = false;
  const pending = reader.readMessage(READ).finally(() => (settled = true));
  input.write(wire.subarray(0, half));
  await new Promise((r) => setTimeout(r, 150));
  t.notOk(settled, 'still waiting after 150 ms with half a message');
  input.write(wire.subarray(half));
  const got = await pending;
  t.equal(got.message.kind, 'request');
  reader.dispose();
});

t.test('garbage is protocol.bad-message', async (t) => {
  t.throws(() => tryInflate(Buffer.from('GARBAGE GARBAGE'), MiB), { name: 'HalibutError', kind: 'protocol.bad-message' });
  const { input, reader } = readerOver();
  input.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  await t.rejects(reader.readMessage(READ), { name: 'HalibutError', kind: 'protocol.bad-message' });
  reader.dispose();
  // A valid deflate stream whose content is not BSON.
  const { input: i2, reader: r2 } = readerOver();
  i2.write(deflateRawSync(Buffer.from('this is not bson at all')));
  await t.rejects(r2.readMessage(READ), { name: 'HalibutError', kind: 'protocol.bad-message' });
  r2.dispose();
});

t.test('a deflate bomb is protocol.message-too-large and memory does not grow', async (t) => {
  const bomb = await deflateWithoutHoldingIt(50, MiB);
  t.ok(bomb.length < 100 * 1024, `50 MiB of zeros deflate to ${bomb.length} bytes`);
  global.gc?.();
  const peakBefore = process.resourceUsage().maxRSS; // kilobytes, the peak so far
  const rssBefore = process.memoryUsage().rss;
  let err: unknown;
  try {
    tryInflate(bomb, MiB);
  } catch (e) {
    err = e;
  }
  t.equal(kindOf(err), 'protocol.message-too-large', 'direct inflate');

  const { input, reader } = readerOver();
  input.write(bomb);
  await t.rejects(reader.readMessage(READ), { name: 'HalibutError', kind: 'protocol.message-too-large' }, 'through the reader');
  reader.dispose();

  const peakGrowthMiB = (process.resourceUsage().maxRSS - peakBefore) / 1024;
  const rssGrowthMiB = (process.memoryUsage().rss - rssBefore) / MiB;
  t.comment(`peak RSS grew by ${peakGrowthMiB.toFixed(1)} MiB, RSS by ${rssGrowthMiB.toFixed(1)} MiB`);
  t.ok(peakGrowthMiB < 25, 'peak memory did not grow by anything like the 50 MiB the bomb expands to');
});
