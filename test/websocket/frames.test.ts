import { PassThrough } from 'node:stream';
import t from 'tap';
import {
  FrameDecoder,
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_CONTINUATION,
  OPCODE_PING,
  OPCODE_PONG,
  OPCODE_TEXT,
  applyMask,
  closePayload,
  encodeFrame,
  parseClosePayload,
  webSocketAccept,
  type Frame,
} from '../../src/halibut/websocket-frames.js';
import { WebSocketStream } from '../../src/halibut/websocket-stream.js';

const MAX = 16 * 1024 * 1024;

function decodeAll(bytes: Buffer, expectMask: 'masked' | 'unmasked', step = bytes.length): Frame[] {
  const d = new FrameDecoder({ maxFramePayload: MAX, expectMask });
  const out: Frame[] = [];
  for (let i = 0; i < bytes.length; i += step) out.push(...d.push(bytes.subarray(i, i + step)));
  return out;
}

t.test('RFC 6455 examples: unmasked and masked "Hello", accept key', async (t) => {
  const unmasked = encodeFrame({ fin: true, opcode: OPCODE_TEXT, payload: Buffer.from('Hello') });
  t.equal(unmasked.toString('hex'), '810548656c6c6f', 'section 5.7 single-frame unmasked text');
  const masked = encodeFrame({ fin: true, opcode: OPCODE_TEXT, payload: Buffer.from('Hello'), mask: Buffer.from('37fa213d', 'hex') });
  t.equal(masked.toString('hex'), '818537fa213d7f9f4d5158', 'section 5.7 single-frame masked text');
  const [f] = decodeAll(masked, 'masked');
  t.equal(f!.payload.toString(), 'Hello', 'unmasked on read');
  t.ok(f!.masked && f!.fin);
  t.equal(webSocketAccept('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'section 1.3 accept key');
  t.same(applyMask(applyMask(Buffer.from('abcdef'), Buffer.from([1, 2, 3, 4])), Buffer.from([1, 2, 3, 4])), Buffer.from('abcdef'));
});

t.test('7-, 16- and 64-bit payload lengths, masked and not, fed byte by byte or whole', async (t) => {
  for (const len of [0, 1, 125, 126, 127, 65535, 65536, 70_000]) {
    const payload = Buffer.alloc(len, len % 251);
    for (const mask of [false, true]) {
      const bytes = encodeFrame({ fin: false, opcode: OPCODE_BINARY, payload, mask });
      const lenField = bytes[1]! & 0x7f;
      t.equal(lenField, len < 126 ? len : len < 65536 ? 126 : 127, `length ${len}: the right length form`);
      t.equal(bytes.length, 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + (mask ? 4 : 0) + len, `length ${len}: frame size`);
      const step = len < 200 ? 1 : 977;
      const frames = decodeAll(bytes, mask ? 'masked' : 'unmasked', step);
      t.equal(frames.length, 1, `length ${len} mask ${mask}: one frame`);
      t.equal(frames[0]!.fin, false);
      t.ok(frames[0]!.payload.equals(payload), `length ${len} mask ${mask}: payload intact`);
    }
  }
});

t.test('a fragment is handed out at once, FIN never needed; control frames interleave', async (t) => {
  const d = new FrameDecoder({ maxFramePayload: MAX, expectMask: 'masked' });
  const first = d.push(encodeFrame({ fin: false, opcode: OPCODE_BINARY, payload: Buffer.from('MX-SUB'), mask: true }));
  t.equal(first.length, 1, 'the first fragment is out before any other byte arrives');
  t.equal(d.messageOpcode, OPCODE_BINARY, 'a binary message is in progress');
  const mixed = Buffer.concat([
    encodeFrame({ fin: true, opcode: OPCODE_PING, payload: Buffer.from('p1'), mask: true }),
    encodeFrame({ fin: false, opcode: OPCODE_CONTINUATION, payload: Buffer.from('SCRIBER'), mask: true }),
    encodeFrame({ fin: true, opcode: OPCODE_PONG, payload: Buffer.alloc(0), mask: true }),
    encodeFrame({ fin: false, opcode: OPCODE_CONTINUATION, payload: Buffer.from(' 1.0'), mask: true }),
    encodeFrame({ fin: true, opcode: OPCODE_CLOSE, payload: closePayload(1002, 'Certificate thumbprint not recognised'), mask: true }),
  ]);
  const frames = d.push(mixed);
  t.same(frames.map((f) => [f.opcode, f.fin]), [[OPCODE_PING, true], [OPCODE_CONTINUATION, false], [OPCODE_PONG, true], [OPCODE_CONTINUATION, false], [OPCODE_CLOSE, true]]);
  t.equal(Buffer.concat([first[0]!.payload, frames[1]!.payload, frames[3]!.payload]).toString(), 'MX-SUBSCRIBER 1.0');
  t.same(parseClosePayload(frames[4]!.payload), { code: 1002, reason: 'Certificate thumbprint not recognised' });
  t.equal(d.messageOpcode, OPCODE_BINARY, 'the message is still open (no FIN)');
});

t.test('the decoder refuses what a reader must refuse', async (t) => {
  const bad = (bytes: Buffer, expectMask: 'masked' | 'unmasked', re: RegExp, kind = 'protocol.error') =>
    t.throws(() => new FrameDecoder({ maxFramePayload: 1000, expectMask }).push(bytes), { kind, message: re });
  bad(encodeFrame({ fin: true, opcode: OPCODE_BINARY, payload: Buffer.from('x') }), 'masked', /unmasked WebSocket frame from a client/);
  bad(encodeFrame({ fin: true, opcode: OPCODE_BINARY, payload: Buffer.from('x'), mask: true }), 'unmasked', /masked WebSocket frame from a server/);
  bad(encodeFrame({ fin: false, opcode: OPCODE_CONTINUATION, payload: Buffer.from('x') }), 'unmasked', /continuation frame without a message/);
  bad(Buffer.from([0x09, 0x00]), 'unmasked', /control frame/); // ping without FIN
  bad(Buffer.from([0xc2, 0x00]), 'unmasked', /reserved bits/);
  bad(Buffer.from([0x83, 0x00]), 'unmasked', /unknown WebSocket opcode 0x3/);
  bad(Buffer.concat([encodeFrame({ fin: false, opcode: OPCODE_BINARY }), encodeFrame({ fin: false, opcode: OPCODE_TEXT })]), 'unmasked', /before the previous one finished/);
  bad(Buffer.from([0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0]), 'unmasked', /over the 1000-byte limit/, 'protocol.message-too-large');
  bad(encodeFrame({ fin: false, opcode: OPCODE_BINARY, payload: Buffer.alloc(1001) }), 'unmasked', /over the 1000-byte limit/, 'protocol.message-too-large');
  t.throws(() => encodeFrame({ fin: true, opcode: OPCODE_PING, payload: Buffer.alloc(126) }), /control frame/);
  t.throws(() => encodeFrame({ fin: false, opcode: OPCODE_CLOSE }), /control frame/);
});

t.test('WebSocketStream: writes are binary fragments without FIN, reads hand on fragments, ping answered, MX is the preamble', async (t) => {
  // client stream <-> server stream over two PassThroughs (a loopback pipe)
  const c2s = new PassThrough();
  const s2c = new PassThrough();
  const clientSide = duplexOf(s2c, c2s);
  const serverSide = duplexOf(c2s, s2c);
  const seen: { dir: string; opcode: number; fin: boolean }[] = [];
  const client = new WebSocketStream(clientSide, { role: 'client', maxFramePayload: MAX });
  const server = new WebSocketStream(serverSide, { role: 'server', maxFramePayload: MAX, observeFrame: (dir, f) => seen.push({ dir, opcode: f.opcode, fin: f.fin }) });
  const got: Buffer[] = [];
  server.on('data', (b: Buffer) => got.push(b));
  client.sendText('MX');
  client.write(Buffer.from('MX-SUBSCRIBER 1.0 poll://abc/\r\n\r\n'));
  await new Promise((r) => setImmediate(r));
  c2s.write(encodeFrame({ fin: true, opcode: OPCODE_PING, payload: Buffer.from('hi'), mask: true }));
  client.write(Buffer.from('NEXT\r\n'));
  await new Promise((r) => setImmediate(r));
  t.equal(Buffer.concat(got).toString(), 'MX\r\n\r\nMX-SUBSCRIBER 1.0 poll://abc/\r\n\r\nNEXT\r\n', 'text MX became the preamble; fragments passed on without FIN');
  const ins = seen.filter((s) => s.dir === 'in');
  t.same(ins.map((s) => [s.opcode, s.fin]), [[OPCODE_TEXT, true], [OPCODE_BINARY, false], [OPCODE_PING, true], [OPCODE_CONTINUATION, false]]);
  t.ok(seen.some((s) => s.dir === 'out' && s.opcode === OPCODE_PONG), 'ping answered with pong');

  const back: Buffer[] = [];
  client.on('data', (b: Buffer) => back.push(b));
  server.write(Buffer.from('MX-SERVER 1.0\r\n\r\n'));
  server.write(Buffer.from('PROCEED\r\n'));
  await new Promise((r) => setImmediate(r));
  t.equal(Buffer.concat(back).toString(), 'MX-SERVER 1.0\r\n\r\nPROCEED\r\n', 'server fragments read by the client without FIN');
  const outs = seen.filter((s) => s.dir === 'out' && s.opcode !== OPCODE_PONG);
  t.same(outs.map((s) => [s.opcode, s.fin]), [[OPCODE_BINARY, false], [OPCODE_CONTINUATION, false]], 'server writes: binary then continuation, FIN never set');

  const ended = new Promise<void>((r) => server.once('end', () => r()));
  server.resume();
  client.end();
  await ended;
  t.same(server.closeReceived, { code: 1000, reason: '' }, 'ending the client sends close 1000');
});

/** A Duplex reading from `r` and writing to `w` (one end of an in-memory pipe). */
function duplexOf(r: PassThrough, w: PassThrough) {
  const d = new PassThrough();
  // writes go to w
  d._write = (chunk, enc, cb) => {
    w.write(chunk, enc, cb);
  };
  d._final = (cb) => {
    w.end();
    cb();
  };
  r.on('data', (c) => d.push(c));
  r.on('end', () => d.push(null));
  return d;
}
