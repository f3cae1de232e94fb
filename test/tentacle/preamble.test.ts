import t from 'tap';
import * as tls from 'node:tls';
import { Fleet } from '../../src/fleet/fleet.js';
import { fixedIdentity } from '../../src/fleet/identity-pool.js';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { serverEntry } from '../../src/tentacle/server-entry.js';
import { Tentacle } from '../../src/tentacle/tentacle.js';
import { EventLog, TEST_TIMEOUTS } from '../helpers/tentacle.js';
import { getTestCertificates } from '../helpers/tls-pair.js';
import { waitFor } from '../helpers/wait.js';

// fleet.preamble on the wire: Windows Tentacles send MX\r\n\r\n, Linux ones MX\n\n; a node accepts both.

const certs = await getTestCertificates();

/** A TLS listener with the node's certificate that records the first bytes each connection sends, then closes it. */
async function firstBytesServer(count: number): Promise<{ address: string; received: Buffer[]; close(): Promise<void> }> {
  const received: Buffer[] = [];
  const server = tls.createServer({ cert: certs.node.certPem, key: certs.node.keyPem, requestCert: true, rejectUnauthorized: false }, (s) => {
    let buf = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= count) {
        received.push(buf.subarray(0, count));
        s.destroy();
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return { address: `127.0.0.1:${port}`, received, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

const CRLF_START = 'MX\r\n\r\nMX-SUBSCRIBER';
const LF_START = 'MX\n\nMX-SUBSCRIBER';

for (const [style, bytes] of [[undefined, CRLF_START], ['crlf', CRLF_START], ['lf', LF_START]] as const) {
  t.test(`Tentacle preamble ${style ?? '(default)'}: ${JSON.stringify(bytes.slice(0, -13))} on the wire`, async (t) => {
    const server = await firstBytesServer(Buffer.byteLength(bytes));
    t.teardown(() => server.close());
    const log = new EventLog();
    let conn = 0;
    const tt = new Tentacle({
      index: 0,
      identity: certs.tentacle,
      subscriptionId: newSubscriptionId(),
      servers: [serverEntry(server.address, certs.node.thumbprint)],
      timeouts: TEST_TIMEOUTS,
      backoff: { minMs: 50, maxMs: 400 },
      sink: log.sink,
      nextConnId: () => ++conn,
      ...(style ? { preamble: style } : {}),
    });
    t.teardown(() => tt.stop());
    tt.start();
    await waitFor(() => server.received.length > 0, 5_000, 'the first bytes');
    await tt.stop();
    t.equal(server.received[0]!.toString('latin1'), bytes);
  });
}

for (const [style, bytes] of [['lf', LF_START], ['crlf', CRLF_START]] as const) {
  t.test(`scenario fleet.preamble: ${style} reaches the wire through the fleet`, async (t) => {
    const server = await firstBytesServer(Buffer.byteLength(bytes));
    t.teardown(() => server.close());
    const scenario = scenarioFromObject({ name: 'preamble', fleet: { tentacles: 2, rampUp: '0s', preamble: style }, duration: '5s' }, 'preamble');
    t.equal(scenario.fleet.preamble, style);
    const log = new EventLog();
    const fleet = new Fleet({
      scenario,
      identities: [fixedIdentity(certs.tentacle)],
      entriesFor: () => [serverEntry(server.address, certs.node.thumbprint)],
      register: null,
      sink: log.sink,
    });
    t.teardown(() => fleet.stop());
    await fleet.start();
    await waitFor(() => server.received.length >= 2, 5_000, 'both tentacles');
    await fleet.stop();
    t.same(server.received.slice(0, 2).map((b) => b.toString('latin1')), [bytes, bytes]);
  });
}

t.test('fleet.preamble with polling over WebSockets (no preamble there) is rejected, naming the field', async (t) => {
  t.throws(
    () => scenarioFromObject({ name: 'ws', route: { kind: 'direct', transport: 'websocket' }, fleet: { preamble: 'lf' }, duration: '5s' }, 'ws'),
    { name: 'PollfleetError', message: /fleet\.preamble.*WebSockets/ },
  );
  t.throws(
    () => scenarioFromObject({ name: 'ws', target: 'external', external: { nodes: [{ polling: 'wss://octopus.example.com/OctopusComms', thumbprint: 'A'.repeat(40) }] }, fleet: { preamble: 'crlf' }, duration: '5s' }, 'ws'),
    { name: 'PollfleetError', message: /fleet\.preamble/ },
  );
  t.doesNotThrow(() => scenarioFromObject({ name: 'ws', route: { kind: 'direct', transport: 'websocket' }, duration: '5s' }, 'ws'));
});
