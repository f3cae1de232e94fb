import t from 'tap';
import {
  HANDSHAKE_PAGE_HTML,
  PREAMBLE_CRLF,
  PREAMBLE_LF,
  identityBytes,
  IDENTITY_SUBSCRIBER,
} from '../../src/halibut/index.js';
import {
  rawExchange,
  registerTentacle,
  runTestTentacle,
  startClusterNode,
  testCertificates,
  testProtocol,
} from '../helpers/cluster.js';
import { connectTls } from '../helpers/tls-pair.js';
import { withTimeout } from '../helpers/wait.js';

t.test('a trusted tentacle collects GetCapabilities within the wait and its answer completes the request', async (t) => {
  const { tentacle } = await testCertificates();
  const n = await startClusterNode({ protocol: testProtocol({ pollingQueueWaitMs: 2_000 }) });
  t.teardown(() => n.close());
  const sub = await registerTentacle(n, tentacle);
  const tt = await runTestTentacle(n.pollingPort, tentacle, sub);
  await withTimeout(tt.identified, 5_000, 'identified');
  const identified = await n.waitFor('node-identified');
  t.equal(identified.subscription, sub);
  t.equal(identified.thumbprint, tentacle.thumbprint);
  t.equal(n.node.connectedSubscriptions().get(sub), 1);

  const started = performance.now();
  const startedAt = Date.now();
  const result = await withTimeout(n.node.probe(sub), 5_000, 'probe answered');
  const elapsed = performance.now() - started;
  // timing-free: the next message the tentacle received was the request, not a null message ending the wait
  t.equal(tt.polls.find((p) => p.at >= startedAt)?.kind, 'request', 'the waiting connection got it at once');
  t.ok(elapsed < 1_900, `answered in ${elapsed.toFixed(0)} ms, within the 2 s wait`);
  t.equal(result.outcome.outcome, 'answered');
  if (result.outcome.outcome === 'answered') {
    const req = tt.polls.find((p) => p.kind === 'request')!.request!;
    t.equal(req.service, 'ICapabilitiesServiceV2');
    t.equal(req.method, 'GetCapabilities');
    t.same(req.params, []);
    t.equal(req.endpoint.BaseUri, sub);
    t.equal(req.endpoint.RemoteThumbprint, tentacle.thumbprint);
    t.equal(req.endpoint.PollingRequestQueueTimeout, '00:00:01');
    t.equal(result.outcome.response.id, req.id, 'the response echoes the request id');
    t.equal(result.outcome.servedBy, 'node1');
    t.same((result.outcome.response.result as { SupportedCapabilities: string[] }).SupportedCapabilities, ['IScriptService', 'IFileTransferService', 'IScriptServiceV2']);
  }
  const dispatched = await n.waitFor('request-dispatched');
  t.equal(dispatched.owner, 'node1');
  t.equal(dispatched.node, 'node1');
  t.ok(dispatched.at >= dispatched.enqueuedAt);
  const answered = await n.waitFor('request-answered');
  t.equal(answered.ok, true);
  t.ok(n.node.stats().pollsSent >= 1);
  tt.stop();
  t.equal(await withTimeout(tt.done, 5_000, 'tentacle stops'), 'stopped');
});

t.test('untrusted and certificate-less peers get zero bytes, then the connection closes', async (t) => {
  const { tentacle, stranger } = await testCertificates();
  const n = await startClusterNode();
  t.teardown(() => n.close());
  await registerTentacle(n, tentacle);
  const hello = Buffer.concat([PREAMBLE_CRLF, identityBytes(IDENTITY_SUBSCRIBER, 'poll://aaaaaaaaaaaaaaaaaaaa/')]);

  const untrusted = await rawExchange(n.pollingPort, hello, stranger);
  t.equal(untrusted.bytes.length, 0, 'untrusted: no byte received');
  const rejected = await n.waitFor('node-rejected', (e) => e.reason === 'untrusted');
  t.equal(rejected.thumbprint, stranger.thumbprint);

  const anonymous = await rawExchange(n.pollingPort, hello);
  t.equal(anonymous.bytes.length, 0, 'no certificate: no byte received');
  await n.waitFor('node-rejected', (e) => e.reason === 'no-certificate');

  const linux = await rawExchange(n.pollingPort, Buffer.concat([PREAMBLE_LF, identityBytes(IDENTITY_SUBSCRIBER, 'poll://aaaaaaaaaaaaaaaaaaaa/')]), stranger);
  t.equal(linux.bytes.length, 0, 'the LF preamble form is authorised the same way');
  t.notOk(n.events.some((e) => e.type === 'node-identified'), 'nobody was identified');
  t.equal(n.node.stats().connections, 0);
});

t.test('a per-subscription cap closes the connection beyond it after MX-SUBSCRIBER without a byte', async (t) => {
  const { tentacle } = await testCertificates();
  const n = await startClusterNode({ maxConnectionsPerSubscription: 2, protocol: testProtocol({ pollingQueueWaitMs: 2_000 }) });
  t.teardown(() => n.close());
  const sub = await registerTentacle(n, tentacle);
  const first = await runTestTentacle(n.pollingPort, tentacle, sub);
  const second = await runTestTentacle(n.pollingPort, tentacle, sub);
  t.teardown(() => {
    first.stop();
    second.stop();
  });
  await withTimeout(Promise.all([first.identified, second.identified]), 5_000, 'two connections identified');
  t.equal(n.node.connectedSubscriptions().get(sub), 2);

  const hello = Buffer.concat([PREAMBLE_CRLF, identityBytes(IDENTITY_SUBSCRIBER, sub)]);
  const third = await rawExchange(n.pollingPort, hello, tentacle);
  t.equal(third.bytes.length, 0, 'the third connection gets no byte (no MX-SERVER)');
  const rejected = await n.waitFor('node-rejected', (e) => e.reason === 'over-subscription-cap');
  t.equal(rejected.subscription, sub, 'the event names the subscription');
  t.equal(rejected.thumbprint, tentacle.thumbprint);
  t.equal(n.node.connectedSubscriptions().get(sub), 2, 'the two within the cap stay');
});

t.test('POST /handshake over TLS gets HTTP 200 and the page', async (t) => {
  const n = await startClusterNode();
  t.teardown(() => n.close());
  const { bytes } = await rawExchange(n.pollingPort, 'POST /handshake HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n');
  const text = bytes.toString('utf8');
  t.match(text, /^HTTP\/1\.0 200 OK\r\n/);
  t.ok(text.endsWith(HANDSHAKE_PAGE_HTML), 'the body is the Octopus page');
  await n.waitFor('node-rejected', (e) => e.reason === 'http-page');
});

t.test('an idle connection gets the null message after the shortened wait, NEXT / PROCEED repeating', async (t) => {
  const { tentacle } = await testCertificates();
  const n = await startClusterNode();
  t.teardown(() => n.close());
  const sub = await registerTentacle(n, tentacle);
  const tt = await runTestTentacle(n.pollingPort, tentacle, sub);
  await withTimeout(tt.identified, 5_000, 'identified');
  const identifiedAt = Date.now();
  const deadline = Date.now() + 5_000;
  while (tt.polls.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.ok(tt.polls.length >= 3, `${tt.polls.length} polls`);
  t.ok(tt.polls.every((p) => p.kind === 'null'), 'every poll was the null message');
  const first = tt.polls[0]!.at - identifiedAt;
  t.ok(first >= 250 && first < 1_500, `first null message after ${first} ms (wait 300 ms)`);
  const gap = tt.polls[2]!.at - tt.polls[1]!.at;
  t.ok(gap >= 250 && gap < 1_500, `next null message ${gap} ms later (the loop went on after NEXT / PROCEED)`);
  const sent = n.events.filter((e) => e.type === 'node-sent');
  t.ok(sent.length >= 3 && sent.every((e) => e.kind === 'null'));
  tt.stop();
  await withTimeout(tt.done, 5_000, 'tentacle stops');
  const closed = await n.waitFor('node-closed');
  t.equal(closed.reason, 'ended-by-peer');
  t.equal(closed.subscription, sub);
});

t.test('a request for a subscription nobody polls expires after the collection timeout', async (t) => {
  const n = await startClusterNode();
  t.teardown(() => n.close());
  const sub = 'poll://nobodypollsthisxxxx/';
  const started = performance.now();
  const result = await withTimeout(n.node.probe(sub), 5_000, 'expiry');
  const elapsed = performance.now() - started;
  t.same(result.outcome, { outcome: 'expired' });
  t.ok(elapsed >= 990 && elapsed < 4_000, `expired after ${elapsed.toFixed(0)} ms (timeout 1000 ms)`);
  const ev = await n.waitFor('request-expired');
  t.equal(ev.subscription, sub);
  t.equal(ev.node, 'node1');
  const queued = await n.waitFor('request-queued');
  t.equal(queued.requestKey, ev.requestKey);
  t.equal(queued.service, 'ICapabilitiesServiceV2');
  t.equal(n.node.stats().queueSize, 0);
});

t.test('graceful stop closes a connected tentacle session without END (a polling node never sends END)', async (t) => {
  const { tentacle } = await testCertificates();
  const n = await startClusterNode({ protocol: testProtocol({ pollingQueueWaitMs: 10_000 }) });
  const sub = await registerTentacle(n, tentacle);
  const tt = await runTestTentacle(n.pollingPort, tentacle, sub);
  const received: Buffer[] = [];
  tt.socket.on('data', (c: Buffer) => received.push(Buffer.from(c)));
  const ended = tt.done.then(() => null, (e: unknown) => e); // the session now ends with an error: handle it before it happens
  await withTimeout(tt.identified, 5_000, 'identified');
  await n.waitFor('node-identified');
  const started = performance.now();
  await withTimeout(n.node.stop(), 5_000, 'graceful stop');
  const took = performance.now() - started;
  const err = await withTimeout(ended, 5_000, 'tentacle session ends');
  t.match(err, { kind: 'closed.by-peer' }, 'the tentacle saw a close where it expected PROCEED');
  t.notOk(Buffer.concat(received).toString('latin1').includes('END'), 'the tentacle received no END');
  t.ok(took < 5_000, `stopped in ${took.toFixed(0)} ms without waiting out the 10 s long-poll`);
  t.equal(tt.polls.at(-1)?.kind, 'null', 'the waiting session was released with the null message first');
  const closed = await n.waitFor('node-closed');
  t.equal(closed.reason, 'stopped');
  t.same(n.events.filter((e) => e.type === 'node-state').map((e) => e.type === 'node-state' && e.state), ['up', 'stopping', 'stopped']);
  await t.resolves(n.node.stop(), 'stop is idempotent');
  await t.rejects(connectTls(n.pollingPort, { identity: tentacle }), 'the port no longer accepts');
  await n.queue.close();
});

t.test('destroy() closes connections at once without END and fails a request in flight', async (t) => {
  const { tentacle } = await testCertificates();
  const n = await startClusterNode();
  const sub = await registerTentacle(n, tentacle);
  let release!: () => void;
  const hold = new Promise<void>((r) => (release = r));
  const tt = await runTestTentacle(n.pollingPort, tentacle, sub, {
    handle: async (request) => {
      await hold; // never answers before the node dies
      return { response: { id: request.id, error: null, result: null } };
    },
  });
  await withTimeout(tt.identified, 5_000, 'identified');
  const probe = n.node.probe(sub);
  await n.waitFor('request-dispatched');
  n.node.destroy({ reset: true });
  const result = await withTimeout(probe, 5_000, 'probe fails');
  t.equal(result.outcome.outcome, 'failed', 'a collected request whose connection died fails');
  release();
  await t.rejects(withTimeout(tt.done, 5_000, 'tentacle sees the reset'), 'the tentacle session ends in an error, not END');
  t.ok(n.events.some((e) => e.type === 'node-state' && e.state === 'crashed'));
  await n.queue.close();
});
