import t from 'tap';
import { once } from 'node:events';
import * as net from 'node:net';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { encodeDataStream, encodeMessage } from '../../src/halibut/codec.js';
import { Guid } from '../../src/halibut/guid.js';
import { ProtocolReader } from '../../src/halibut/reader.js';
import { withTimeout } from '../helpers/wait.js';

const MiB = 1024 * 1024;

function over(): { input: PassThrough; reader: ProtocolReader } {
  const input = new PassThrough();
  return { input, reader: new ProtocolReader(input, { maxMessageBytes: 16 * MiB }) };
}

/** A plain TCP pair on loopback (the reader does not care whether TLS is underneath). */
async function tcpPair(): Promise<{ a: net.Socket; b: net.Socket; close(): Promise<void> }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const b = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(b, 'connect');
  const [a] = await withTimeout(accepted, 5_000, 'accept');
  for (const s of [a, b]) s.on('error', () => {});
  return {
    a,
    b,
    async close() {
      a.destroy();
      b.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

t.test('first-byte timeout applies only while nothing has arrived', async (t) => {
  {
    const { reader } = over();
    const started = performance.now();
    await t.rejects(reader.readMessage({ timeoutMs: 50, firstByteTimeoutMs: 300, timeoutKind: 'timeout.receive' }), {
      name: 'HalibutError', kind: 'timeout.receive',
    });
    const elapsed = performance.now() - started;
    t.ok(elapsed >= 280 && elapsed < 5_000, `waited for the first-byte timeout (${elapsed.toFixed(0)} ms)`);
    reader.dispose();
  }
  {
    const { input, reader } = over();
    input.write(encodeMessage({ kind: 'null' }).subarray(0, 3));
    const started = performance.now();
    // a first-byte timeout far above the ordinary one, so a busy machine cannot blur the two
    await t.rejects(reader.readMessage({ timeoutMs: 50, firstByteTimeoutMs: 3_000 }), { name: 'HalibutError', kind: 'timeout.receive' });
    const elapsed = performance.now() - started;
    t.ok(elapsed >= 40 && elapsed < 1_500, `once bytes arrived, the ordinary timeout applies (${elapsed.toFixed(0)} ms)`);
    reader.dispose();
  }
});

t.test('the timeout is an idle timeout (refreshed by each arriving byte) and carries its kind', async (t) => {
  const { input, reader } = over();
  const wire = Buffer.from('PROCEED\r\n');
  const pending = reader.readControlLine({ timeoutMs: 400, timeoutKind: 'timeout.heartbeat', skipEmpty: true });
  for (const byte of wire) {
    await new Promise((r) => setTimeout(r, 80)); // 9 x 80 ms = 720 ms in all, > 400 ms; each gap 320 ms short of it
    input.write(Buffer.from([byte]));
  }
  t.equal(await pending, 'PROCEED', 'never idle for 400 ms, so no timeout');
  await t.rejects(reader.readLine({ timeoutMs: 60, timeoutKind: 'timeout.heartbeat' }), { name: 'HalibutError', kind: 'timeout.heartbeat' });
  reader.dispose();
});

t.test('end, close and errors of the source end a waiting read', async (t) => {
  const a = over();
  const p = a.reader.readLine({ timeoutMs: 5_000 });
  a.input.end();
  await t.rejects(p, { name: 'HalibutError', kind: 'closed.by-peer' }, 'EOF');
  const b = over();
  const q = b.reader.readLine({ timeoutMs: 5_000 });
  b.input.destroy(new Error('boom'));
  await t.rejects(q, { message: 'boom' }, 'a socket error is passed through');
  const c = over();
  const r = c.reader.readLine({ timeoutMs: 5_000 });
  c.reader.dispose();
  await t.rejects(r, { name: 'HalibutError', kind: 'closed.by-peer' }, 'dispose ends a waiting read');
});

t.test('lines end in CRLF only; a bare LF is part of the line', async (t) => {
  const { input, reader } = over();
  input.write('NE');
  input.write('XT\r');
  input.write('\n\r\nA\nB\r\n');
  t.equal(await reader.readControlLine({ timeoutMs: 500, skipEmpty: true }), 'NEXT', 'CRLF split across chunks');
  t.equal(await reader.readControlLine({ timeoutMs: 500, skipEmpty: true }), 'A\nB', 'empty line skipped, bare LF kept in the line');
  input.write('\r\nEND\r\n');
  t.equal(await reader.readControlLine({ timeoutMs: 500, skipEmpty: false }), '', 'without skipEmpty an empty line is returned');
  t.equal(await reader.readLine({ timeoutMs: 500 }), 'END');
  reader.dispose();
});

t.test('readPreamble drops \\r, accepts both forms and leaves what follows', async (t) => {
  for (const [name, chunks] of [
    ['CRLF form in one chunk', ['MX\r\n\r\nMX-SUBSCRIBER 1.0 poll://abc/\r\n\r\n']],
    ['LF form', ['MX\n\nMX-SUBSCRIBER 1.0 poll://abc/\r\n\r\n']],
    ['split at every byte', [...'MX\r\n\r\nMX-SUBSCRIBER 1.0 poll://abc/\r\n\r\n']],
    ['\\r at chunk edges', ['MX\r', '\n\r', '\n', 'MX-SUBSCRIBER 1.0 poll://abc/\r\n\r\n']],
  ] as [string, string[]][]) {
    const { input, reader } = over();
    const p = reader.readPreamble({ timeoutMs: 500 });
    for (const c of chunks) {
      input.write(c);
      await new Promise((r) => setImmediate(r));
    }
    t.equal(await p, 'MX\n\n', name);
    t.equal(await reader.readLine({ timeoutMs: 500 }), 'MX-SUBSCRIBER 1.0 poll://abc/', `${name}: identity line left for the next read`);
    reader.dispose();
  }
  const { input, reader } = over();
  input.write('POST /handshake HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
  t.equal(await reader.readPreamble({ timeoutMs: 500 }), 'POST /handshake HTTP/1.1\nHost: x\nContent-Length: 0\n\n', 'an HTTP request ends at its blank line');
  reader.dispose();
});

t.test('readPreamble stops at 20,000 chars read with protocol.bad-preamble', async (t) => {
  const ok = over();
  ok.input.write('x'.repeat(19_998) + '\n\n');
  t.equal((await ok.reader.readPreamble({ timeoutMs: 500 })).length, 20_000, '20,000 chars in all is accepted');
  ok.reader.dispose();

  const tooLong = over();
  tooLong.input.write('x'.repeat(19_999) + '\n\n');
  await t.rejects(tooLong.reader.readPreamble({ timeoutMs: 500 }), { name: 'HalibutError', kind: 'protocol.bad-preamble' }, '20,001 chars is not');
  tooLong.reader.dispose();

  const endless = over();
  const started = performance.now();
  const p = endless.reader.readPreamble({ timeoutMs: 5_000 });
  for (let i = 0; i < 30; i++) endless.input.write('y'.repeat(1_000));
  await t.rejects(p, { name: 'HalibutError', kind: 'protocol.bad-preamble' }, 'a stream without newlines fails at the cap, not at the timeout');
  t.ok(performance.now() - started < 4_000, 'well before the 5 s timeout');
  endless.reader.dispose();

  const crs = over();
  const q = crs.reader.readPreamble({ timeoutMs: 5_000 });
  for (let i = 0; i < 30; i++) crs.input.write('\r'.repeat(1_000));
  await t.rejects(q, { name: 'HalibutError', kind: 'protocol.bad-preamble' }, 'dropped \\r still count towards the cap');
  crs.reader.dispose();
});

t.test('over a real socket: the reader pauses a flooding peer and resumes for a large read', async (t) => {
  const { a, b, close } = await tcpPair();
  t.teardown(close);
  const reader = new ProtocolReader(a, { maxMessageBytes: 32 * MiB });
  const id = Guid.random();
  const data = Buffer.alloc(12 * MiB, 0x5a);
  const wire = encodeDataStream(id, data);
  b.write(wire);

  // Nobody reads yet: the reader buffers up to its high-water mark, then pauses the socket.
  const deadline = performance.now() + 5_000;
  while (!reader.isPaused && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.ok(reader.isPaused, 'paused once more than the high-water mark is buffered');
  await new Promise((r) => setTimeout(r, 200));
  t.ok(
    reader.buffered < 5 * MiB,
    `only ${(reader.buffered / MiB).toFixed(1)} MiB of ${(wire.length / MiB).toFixed(1)} MiB taken in while paused (the rest waits in TCP)`,
  );

  // A read that needs more than the high-water mark resumes the socket and completes.
  const got = await reader.readDataStream({ id, length: BigInt(data.length) }, { timeoutMs: 2_000 });
  t.equal(got.length, data.length);
  t.ok(got.equals(data), 'all 12 MiB arrived intact');
  t.notOk(reader.isPaused, 'flowing again once drained');
  reader.dispose();
});
