import t from 'tap';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { TYPE_CAPABILITIES_RESPONSE_V2, TYPE_SCRIPT_TICKET, TYPE_START_SCRIPT_COMMAND_V2, TYPE_SCRIPT_STATUS_REQUEST_V2, TYPE_COMPLETE_SCRIPT_COMMAND_V2 } from '../../src/halibut/constants.js';
import { runPollingConnection, type PollingConnectionOptions } from '../../src/tentacle/polling-connection.js';
import { serverEntry } from '../../src/tentacle/server-entry.js';
import { TentacleServices } from '../../src/tentacle/services.js';
import { tentacleSecureContext } from '../../src/tentacle/tentacle.js';
import {
  EventLog,
  closedPort,
  TEST_TIMEOUTS,
  startHttpOverTlsServer,
  startStubNode,
  type StubNode,
} from '../helpers/tentacle.js';
import { getTestCertificates } from '../helpers/tls-pair.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

const certs = await getTestCertificates();
const secureContext = tentacleSecureContext(certs.tentacle);

function options(node: { address: string; thumbprint: string }, log: EventLog, over: Partial<PollingConnectionOptions> = {}): PollingConnectionOptions {
  return {
    tentacle: 7,
    entry: 0,
    conn: 1,
    server: serverEntry(node.address, node.thumbprint),
    secureContext,
    tentacleThumbprint: certs.tentacle.thumbprint,
    subscriptionId: newSubscriptionId(),
    timeouts: TEST_TIMEOUTS,
    services: new TentacleServices({ scriptRunMs: 150 }),
    sink: log.sink,
    ...over,
  };
}

/** Start a connection, wait until identified; returns the stop function and the outcome promise. */
async function connected(node: StubNode, log: EventLog, over: Partial<PollingConnectionOptions> = {}) {
  const o = options(node, log, over);
  const ac = new AbortController();
  const outcome = runPollingConnection(o, ac.signal);
  await log.waitFor((e) => e.type === 'identified', 5_000, 'identified');
  return { o, outcome, stop: () => ac.abort() };
}

t.test('end to end over TLS: GetCapabilities and a full script, ids echoed', async (t) => {
  const node = await startStubNode();
  t.teardown(() => node.close());
  const log = new EventLog();
  const c = await connected(node, log);
  const sub = c.o.subscriptionId;
  t.same(node.identified, [sub], 'the node saw our subscription id');

  const caps = await withTimeout(node.call(sub, 'ICapabilitiesServiceV2', 'GetCapabilities'), 5_000, 'GetCapabilities');
  t.equal(caps.response.id, caps.request.id, 'request id echoed');
  t.equal(caps.response.error, null);
  t.same(caps.response.result, { $type: TYPE_CAPABILITIES_RESPONSE_V2, SupportedCapabilities: ['IScriptService', 'IFileTransferService', 'IScriptServiceV2'] });

  const ticket = { $type: TYPE_SCRIPT_TICKET, TaskId: 'ScriptTicket-e2e' };
  const start = await withTimeout(
    node.call(sub, 'IScriptServiceV2', 'StartScript', [{
      $type: TYPE_START_SCRIPT_COMMAND_V2, ScriptBody: 'echo hello', Isolation: 0, ScriptIsolationMutexTimeout: '00:00:10',
      IsolationMutexName: null, Arguments: [], TaskId: 'ServerTasks-1', ScriptTicket: ticket, DurationToWaitForScriptToFinish: null,
    }]),
    5_000,
    'StartScript',
  );
  t.equal(start.response.id, start.request.id);
  t.match(start.response.result, { Ticket: { TaskId: 'ScriptTicket-e2e' }, State: 1, NextLogSequence: 0n });

  let status: Record<string, unknown> = {};
  let polls = 0;
  const lastSeq = 0n;
  for (; polls < 40; polls++) {
    const r = await withTimeout(
      node.call(sub, 'IScriptServiceV2', 'GetStatus', [{ $type: TYPE_SCRIPT_STATUS_REQUEST_V2, Ticket: ticket, LastLogSequence: lastSeq }]),
      5_000,
      'GetStatus',
    );
    t.equal(r.response.id, r.request.id, `GetStatus ${polls} id echoed`);
    status = r.response.result as Record<string, unknown>;
    if (status['State'] === 2) break;
    await new Promise((res) => setTimeout(res, 30));
  }
  t.ok(polls >= 1, 'the script was Running at least once before completing');
  t.equal(status['State'], 2, 'Complete');
  t.equal(status['ExitCode'], 0);
  t.equal(typeof status['NextLogSequence'], 'bigint', 'NextLogSequence is an int64');
  const logs = status['Logs'] as { Text: string; Occurred: unknown }[];
  t.equal(logs.length, 1, 'one log line');
  t.ok(logs[0]!.Occurred instanceof Date, 'Occurred is a BSON datetime');

  const done = await withTimeout(
    node.call(sub, 'IScriptServiceV2', 'CompleteScript', [{ $type: TYPE_COMPLETE_SCRIPT_COMMAND_V2, Ticket: ticket, LastLogSequence: 1n }]),
    5_000,
    'CompleteScript',
  );
  t.equal(done.response.id, done.request.id);
  t.equal(done.response.error, null);
  t.equal(done.response.result, null);

  const answered = log.of('answered');
  t.equal(answered.length, 3 + polls + 1, 'every request answered');
  t.ok(answered.every((e) => e.ok && e.conn === 1 && e.tentacle === 7));

  c.stop();
  const out = await withTimeout(c.outcome, 5_000, 'the connection to stop');
  t.equal(out.reason, 'stopped');
  t.equal(out.wasIdentified, true);
  t.equal(log.of('closed').length, 1, 'exactly one closed event');
  const types = log.events.map((e) => e.type);
  t.same(types.slice(0, 4), ['connect-start', 'tcp-connected', 'tls-done', 'identified']);
  const tlsDone = log.of('tls-done')[0]!;
  t.equal(tlsDone.peerThumbprint, node.thumbprint);
  t.match(tlsDone.protocol, /^TLSv1\.[23]$/);
  t.ok(tlsDone.cipher.length > 0);
  await waitFor(() => node.receivedEnd === 1, 3_000, 'END at the node');
  t.equal(node.receivedEnd, 1, 'stopping sent END');
});

t.test('an idle connection gets the null message after the wait and keeps cycling', async (t) => {
  const node = await startStubNode({ pollingQueueWaitMs: 100 });
  t.teardown(() => node.close());
  const log = new EventLog();
  const c = await connected(node, log);
  await log.waitForCount((e) => e.type === 'polled' && e.kind === 'null', 3, 5_000, 'null polls');
  const polls = log.of('polled');
  t.ok(polls.length >= 3, `${polls.length} polls`);
  t.ok(polls.every((p) => p.kind === 'null' && p.conn === 1));
  t.equal(log.of('connect-start').length, 1, 'no reconnect: the same connection cycles');
  t.ok(node.sentNull >= 3);
  const gaps = polls.slice(1).map((p, i) => p.at - polls[i]!.at);
  t.ok(gaps.every((g) => g >= 80), `polls are spaced by the node's wait (${gaps.map((g) => g.toFixed(0)).join(', ')} ms)`);
  c.stop();
  t.equal((await withTimeout(c.outcome, 5_000, 'stop')).reason, 'stopped');
});

t.test('unknown service or method: an error response, and the connection stays up', async (t) => {
  const node = await startStubNode();
  t.teardown(() => node.close());
  const log = new EventLog();
  const c = await connected(node, log);
  const sub = c.o.subscriptionId;
  const a = await withTimeout(node.call(sub, 'IDoesNotExist', 'Anything'), 5_000, 'unknown service');
  t.equal(a.response.id, a.request.id);
  t.equal(a.response.error?.HalibutErrorType, 'Halibut.Exceptions.ServiceNotFoundHalibutClientException');
  const b = await withTimeout(node.call(sub, 'ICapabilitiesServiceV2', 'Frobnicate'), 5_000, 'unknown method');
  t.equal(b.response.error?.HalibutErrorType, 'Halibut.Exceptions.MethodNotFoundHalibutClientException');
  const ok = await withTimeout(node.call(sub, 'ICapabilitiesServiceV2', 'GetCapabilitiesAsync'), 5_000, 'a later request');
  t.equal(ok.response.error, null, 'a later request on the same connection is answered');
  t.same(log.of('answered').map((e) => e.ok), [false, false, true]);
  t.equal(log.of('connect-start').length, 1, 'still the first connection');
  t.equal(log.of('closed').length, 0);
  c.stop();
  await withTimeout(c.outcome, 5_000, 'stop');
});

t.test('wrong node thumbprint -> tls.thumbprint-mismatch naming both thumbprints', async (t) => {
  const node = await startStubNode();
  t.teardown(() => node.close());
  const log = new EventLog();
  const expected = certs.stranger.thumbprint;
  const out = await withTimeout(
    runPollingConnection(options({ address: node.address, thumbprint: expected }, log), new AbortController().signal),
    5_000,
    'the attempt',
  );
  t.equal(out.reason, 'error');
  t.equal(out.errorKind, 'tls.thumbprint-mismatch');
  const closed = log.of('closed');
  t.equal(closed.length, 1);
  t.equal(closed[0]!.errorKind, 'tls.thumbprint-mismatch');
  t.match(closed[0]!.message, expected, 'names the expected thumbprint');
  t.match(closed[0]!.message, node.thumbprint, 'names the presented thumbprint');
  t.match(closed[0]!.message, /TLS-terminating/);
  t.equal(closed[0]!.expectedThumbprint, expected, 'the expected thumbprint is a field of the event');
  t.equal(closed[0]!.presentedThumbprint, node.thumbprint, 'so is the presented one');
  t.equal(closed[0]!.address, node.address);
  t.same(out.data, { address: node.address, expectedThumbprint: expected, presentedThumbprint: node.thumbprint });
  t.equal(log.of('tls-done').length, 0, 'no tls-done for a refused node');
  t.equal(node.identified.length, 0, 'nothing sent to an unverified node');
});

t.test('a lower-case configured thumbprint does not match (exact compare), and says so', async (t) => {
  const node = await startStubNode();
  t.teardown(() => node.close());
  const log = new EventLog();
  const out = await withTimeout(
    runPollingConnection(options({ address: node.address, thumbprint: node.thumbprint.toLowerCase() }, log), new AbortController().signal),
    5_000,
    'the attempt',
  );
  t.equal(out.errorKind, 'tls.thumbprint-mismatch');
  t.match(out.message, /letter case/);
});

t.test('untrusted tentacle: the node closes without a byte -> tls.untrusted', async (t) => {
  const node = await startStubNode({ trust: () => false });
  t.teardown(() => node.close());
  const log = new EventLog();
  const out = await withTimeout(runPollingConnection(options(node, log), new AbortController().signal), 5_000, 'the attempt');
  t.equal(out.reason, 'error');
  t.equal(out.errorKind, 'tls.untrusted');
  t.equal(out.wasIdentified, false);
  t.match(out.message, certs.tentacle.thumbprint, "names the tentacle's thumbprint");
  t.match(out.message, /may not trust/);
  t.match(out.message, /register/);
  t.equal(log.of('tls-done').length, 1, 'TLS itself succeeded');
  t.same(node.sessionEnds, ['rejected']);
});

t.test('an HTTP answer instead of MX-SERVER -> protocol.http-response', async (t) => {
  const alb = await startHttpOverTlsServer(certs.node);
  t.teardown(() => alb.close());
  const log = new EventLog();
  const out = await withTimeout(
    runPollingConnection(options({ address: `127.0.0.1:${alb.port}`, thumbprint: certs.node.thumbprint }, log), new AbortController().signal),
    5_000,
    'the attempt',
  );
  t.equal(out.errorKind, 'protocol.http-response');
  t.match(out.message, /HTTP\/1\.1 400 Bad Request/);
  t.match(out.message, /pass-through/);
  t.equal(out.data?.status, 400, 'the HTTP status is a field, not parsed from the message');
  t.equal(log.of('closed')[0]!.status, 400);
});

t.test('connect to a closed port -> tcp.refused with one closed event', async (t) => {
  const port = await closedPort();
  const log = new EventLog();
  const out = await withTimeout(
    runPollingConnection(options({ address: `127.0.0.1:${port}`, thumbprint: certs.node.thumbprint }, log), new AbortController().signal),
    5_000,
    'the attempt',
  );
  t.equal(out.errorKind, 'tcp.refused');
  t.same(log.events.map((e) => e.type), ['connect-start', 'closed']);
});

t.test('abort before connecting -> stopped, no socket', async (t) => {
  const log = new EventLog();
  const ac = new AbortController();
  ac.abort();
  const out = await runPollingConnection(options({ address: '127.0.0.1:9', thumbprint: certs.node.thumbprint }, log), ac.signal);
  t.equal(out.reason, 'stopped');
  t.same(log.events.map((e) => e.type), ['connect-start', 'closed']);
});
