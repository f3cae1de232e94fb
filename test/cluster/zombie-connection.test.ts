import net from 'node:net';
import type tls from 'node:tls';
import t from 'tap';
import type { CertificateIdentity } from '../../src/pki/index.js';
import { IDENTITY_SUBSCRIBER, PREAMBLE_CRLF, identityBytes } from '../../src/halibut/index.js';
import { LocalQueue } from '../../src/cluster/local-queue.js';
import type { QueueItem } from '../../src/cluster/work-queue.js';
import { HOST, rawExchange, registerTentacle, runTestTentacle, startClusterNode, testCertificates, testProtocol } from '../helpers/cluster.js';
import { connectTls } from '../helpers/tls-pair.js';
import { withTimeout } from '../helpers/wait.js';

/**
 * Zombie connections ([H] section 4): a real node does not read a polling connection while it
 * waits for work, so a tentacle that went away is noticed only when the node next writes --
 * and a request handed to that dead connection fails for its caller, never requeued.
 * `nodeBehaviour: lenient` keeps the old node, which noticed at once and requeued.
 */

const WAIT_MS = 10_000; // the node's long-poll: far longer than each test, so the zombie stays until a write

/** A polling connection identified on the node, whose raw TCP socket the test can reset. */
async function identifiedRawConnection(port: number, cert: CertificateIdentity, sub: string): Promise<{ raw: net.Socket; tlsSocket: tls.TLSSocket }> {
  const raw = net.connect(port, HOST);
  raw.on('error', () => {});
  const tlsSocket = await connectTls(port, { identity: cert, tls: { socket: raw } });
  const got: Buffer[] = [];
  const identified = new Promise<void>((resolve) => {
    tlsSocket.on('data', (c: Buffer) => {
      got.push(c);
      if (Buffer.concat(got).toString('latin1').includes('MX-SERVER')) resolve();
    });
  });
  tlsSocket.write(Buffer.concat([PREAMBLE_CRLF, identityBytes(IDENTITY_SUBSCRIBER, sub)]));
  await withTimeout(identified, 5_000, 'MX-SERVER');
  return { raw, tlsSocket };
}

for (const behaviour of ['real', 'lenient'] as const) {
  t.test(`${behaviour}: a connection reset while the node waits, then a request queued within a second`, async (t) => {
    const { tentacle } = await testCertificates();
    const n = await startClusterNode({ nodeBehaviour: behaviour, protocol: testProtocol({ pollingQueueWaitMs: WAIT_MS, pollingRequestQueueTimeoutMs: 5_000 }) });
    t.teardown(() => n.close());
    const sub = await registerTentacle(n, tentacle);
    const { raw } = await identifiedRawConnection(n.pollingPort, tentacle, sub);
    await n.waitFor('node-identified');
    raw.resetAndDestroy(); // what a killed tentacle's kernel, or a balancer, sends
    await new Promise((r) => setTimeout(r, 200));
    const queuedAt = performance.now();
    const probe = n.node.probe(sub);

    if (behaviour === 'real') {
      const result = await withTimeout(probe, 5_000, 'the probe fails');
      t.equal(result.outcome.outcome, 'failed', 'the request handed to the dead connection failed for its caller');
      t.ok(performance.now() - queuedAt < 1_000, 'at once: it was handed to the dead connection, not left to expire');
      const lost = await n.waitFor('request-lost');
      t.equal(lost.subscription, sub);
      t.equal(lost.owner, 'node1');
      t.equal(lost.written, false, 'the write is what found the connection dead');
      t.notOk(n.events.some((e) => e.type === 'request-dispatched'), 'never dispatched');
      t.equal(n.queue.size(), 0, 'never requeued');
      const closed = await n.waitFor('node-closed');
      t.ok(closed.at >= lost.at - 1, 'the node noticed the close only at the write');
      t.equal(n.events.filter((e) => e.type === 'request-lost').length, 1);
    } else {
      await n.waitFor('node-closed'); // a lenient node noticed at once
      t.equal(n.queue.size(), 1, 'the request waits in the queue for a live connection');
      const tt = await runTestTentacle(n.pollingPort, tentacle, sub);
      t.teardown(() => tt.stop());
      const result = await withTimeout(probe, 5_000, 'the probe is answered');
      t.equal(result.outcome.outcome, 'answered', 'delivered over the next connection');
      t.notOk(n.events.some((e) => e.type === 'request-lost'), 'nothing lost');
    }
  });

  t.test(`${behaviour}: a zombie connection counts against the per-subscription cap until it closes`, async (t) => {
    const { tentacle } = await testCertificates();
    const n = await startClusterNode({
      nodeBehaviour: behaviour, maxConnectionsPerSubscription: 1, protocol: testProtocol({ pollingQueueWaitMs: WAIT_MS }),
    });
    t.teardown(() => n.close());
    const sub = await registerTentacle(n, tentacle);
    const { raw } = await identifiedRawConnection(n.pollingPort, tentacle, sub);
    await n.waitFor('node-identified');
    raw.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 200));
    if (behaviour === 'real') {
      const hello = Buffer.concat([PREAMBLE_CRLF, identityBytes(IDENTITY_SUBSCRIBER, sub)]);
      const next = await rawExchange(n.pollingPort, hello, tentacle);
      t.equal(next.bytes.length, 0, 'the reconnect gets no MX-SERVER');
      const rejected = await n.waitFor('node-rejected', (e) => e.reason === 'over-subscription-cap');
      t.equal(rejected.subscription, sub);
      t.equal(next.error, 'ECONNRESET', 'refused with a reset, as a real node');
      t.equal(n.node.connectedSubscriptions().get(sub), 1, 'the zombie still holds its place');
      // the zombie goes when the node next writes to it: a request, lost
      const result = await withTimeout(n.node.probe(sub), 5_000, 'the probe fails');
      t.equal(result.outcome.outcome, 'failed');
      await n.waitFor('node-closed');
      t.equal(n.node.connectedSubscriptions().get(sub), undefined, 'the cap is free again');
    } else {
      const next = await identifiedRawConnection(n.pollingPort, tentacle, sub); // MX-SERVER: the dead one was already gone
      t.teardown(() => next.tlsSocket.destroy());
      t.equal(n.node.connectedSubscriptions().get(sub), 1, 'the reconnect is identified');
      t.notOk(n.events.some((e) => e.type === 'node-rejected'), 'nothing refused');
    }
  });
}

t.test('an untrusted connection is closed with a reset (real) or a FIN (lenient)', async (t) => {
  const { tentacle, stranger } = await testCertificates();
  for (const behaviour of ['real', 'lenient'] as const) {
    const n = await startClusterNode({ nodeBehaviour: behaviour });
    t.teardown(() => n.close());
    await registerTentacle(n, tentacle);
    const hello = Buffer.concat([PREAMBLE_CRLF, identityBytes(IDENTITY_SUBSCRIBER, 'poll://aaaaaaaaaaaaaaaaaaaa/')]);
    const out = await rawExchange(n.pollingPort, hello, stranger);
    t.equal(out.bytes.length, 0, `${behaviour}: no byte`);
    await n.waitFor('node-rejected', (e) => e.reason === 'untrusted');
    if (behaviour === 'real') t.equal(out.error, 'ECONNRESET', 'real: the client sees ECONNRESET');
    else t.not(out.error, 'ECONNRESET', 'lenient: an orderly close');
  }
});

t.test('racing waiters: each request goes to one waiter chosen at random, FIFO when not racing', async (t) => {
  const item = (key: number): QueueItem => ({
    key, owner: 'node1', subscription: 's', enqueuedAt: Date.now(),
    request: { id: `r${key}`, activityId: 'a', endpoint: {} as never, service: 'x', method: 'y', params: [] },
  }) as unknown as QueueItem;
  for (const [race, expected] of [[false, 0], [true, 2]] as const) {
    const q = new LocalQueue({ race, random: () => 0.9 });
    const ctl = new AbortController();
    const winners: number[] = [];
    const takes = [0, 1, 2].map((i) => q.take('s', 'node1', 5_000, ctl.signal).then((it) => it && winners.push(i)));
    void q.enqueue(item(1), 5_000);
    await new Promise((r) => setTimeout(r, 10));
    t.same(winners, [expected], race ? 'the random pick wins' : 'the longest waiter wins');
    ctl.abort();
    await Promise.all(takes);
    await q.close();
  }
});
