import t from 'tap';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { runPollingConnection, type PollingConnectionOptions } from '../../src/tentacle/polling-connection.js';
import { serverEntry } from '../../src/tentacle/server-entry.js';
import { TentacleServices } from '../../src/tentacle/services.js';
import { tentacleSecureContext } from '../../src/tentacle/tentacle.js';
import { EventLog, TEST_TIMEOUTS } from '../helpers/tentacle.js';
import { getTestCertificates, startTlsServer } from '../helpers/tls-pair.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

const certs = await getTestCertificates();
const NULL_MESSAGE = Buffer.from('e3636060e0f24d2d2e4e4c4f65600000', 'hex');

/**
 * A stub peer: MX-SERVER and one null message, then `answer` where PROCEED belongs. Records
 * what the tentacle sent after its NEXT.
 */
async function stubPeer(answer: string) {
  const afterNext: string[] = [];
  const srv = await startTlsServer((socket) => {
    let seen = '';
    let stage = 0;
    socket.on('data', (c: Buffer) => {
      seen += c.toString('latin1');
      if (stage === 0 && seen.includes('MX-SUBSCRIBER') && seen.endsWith('\r\n\r\n')) {
        stage = 1;
        socket.write('MX-SERVER 1.0\r\n\r\n');
        socket.write(NULL_MESSAGE);
      } else if (stage === 1 && seen.endsWith('NEXT\r\n')) {
        stage = 2;
        seen = '';
        socket.write(answer);
      } else if (stage === 2) {
        afterNext.push(seen);
      }
    });
  });
  return { srv, afterNext: () => afterNext.at(-1) ?? '' };
}

function options(port: number, log: EventLog): PollingConnectionOptions {
  return {
    tentacle: 0, entry: 0, conn: 1,
    server: serverEntry(`127.0.0.1:${port}`, certs.node.thumbprint),
    secureContext: tentacleSecureContext(certs.tentacle),
    tentacleThumbprint: certs.tentacle.thumbprint,
    subscriptionId: newSubscriptionId(),
    timeouts: TEST_TIMEOUTS,
    services: new TentacleServices({ scriptRunMs: 10 }),
    sink: log.sink,
  };
}

t.test('END in place of PROCEED is a protocol error, and the tentacle still sends END as it disposes of the connection', async (t) => {
  const peer = await stubPeer('END\r\n');
  t.teardown(() => peer.srv.close());
  const log = new EventLog();
  const out = await withTimeout(runPollingConnection(options(peer.srv.port, log), new AbortController().signal), 5_000, 'the attempt');
  t.equal(out.reason, 'error');
  t.equal(out.errorKind, 'protocol.unexpected-control', 'a protocol error, not a normal end');
  t.match(out.message, /expected PROCEED, got END/);
  t.ok(out.wasIdentified);
  await waitFor(() => peer.afterNext() === 'END\r\n', 3_000, 'END at the peer');
  t.equal(peer.afterNext(), 'END\r\n', 'the tentacle wrote END on disposal');
});

t.test('any other error after identification: END on disposal too', async (t) => {
  const peer = await stubPeer('BOGUS\r\n');
  t.teardown(() => peer.srv.close());
  const log = new EventLog();
  const out = await withTimeout(runPollingConnection(options(peer.srv.port, log), new AbortController().signal), 5_000, 'the attempt');
  t.equal(out.errorKind, 'protocol.unexpected-control');
  await waitFor(() => peer.afterNext() === 'END\r\n', 3_000, 'END at the peer');
  t.equal(peer.afterNext(), 'END\r\n');
  t.equal(log.of('closed').length, 1, 'one closed event');
});
