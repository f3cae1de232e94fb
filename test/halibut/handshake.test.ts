import t from 'tap';
import type { TLSSocket } from 'node:tls';
import { NULL_MESSAGE_DEFLATED, PREAMBLE_LF } from '../../src/halibut/constants.js';
import { HalibutError } from '../../src/halibut/halibut-error.js';
import { ProtocolReader } from '../../src/halibut/reader.js';
import { runServerSession, type ServerHooks } from '../../src/halibut/server-session.js';
import { runSubscriberSession, type SubscriberHooks } from '../../src/halibut/subscriber-session.js';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { createTlsPair } from '../helpers/tls-pair.js';
import { withTimeout } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const SHORT = 3_000;

const subscriberOptions = (subscriptionId: string) => ({
  subscriptionId,
  receiveRequestTimeoutMs: SHORT,
  receiveTimeoutMs: SHORT,
  heartbeatTimeoutMs: SHORT,
  maxMessageBytes: MiB,
});

function quietSubscriber(): SubscriberHooks & { polls: string[] } {
  const polls: string[] = [];
  return {
    polls,
    identified() {},
    polled(kind) {
      polls.push(kind);
    },
    async handle() {
      throw new Error('no requests in this test');
    },
  };
}

/** Records every write() made on a socket, as the bytes handed to it (before TLS). */
function recordWrites(socket: TLSSocket): Buffer[] {
  const writes: Buffer[] = [];
  const original = socket.write.bind(socket) as (...a: unknown[]) => boolean;
  (socket as unknown as { write: (...a: unknown[]) => boolean }).write = (chunk: unknown, ...rest: unknown[]) => {
    writes.push(Buffer.from(chunk as Buffer));
    return original(chunk, ...rest);
  };
  return writes;
}

t.test('the tentacle sends the preamble, then the identity line and blank line in one write', async (t) => {
  const pair = await createTlsPair();
  t.teardown(() => pair.close());
  const subscription = newSubscriptionId();
  const identity = Buffer.from(`MX-SUBSCRIBER 1.0 ${subscription}\r\n\r\n`, 'utf8');

  // Node side, by hand: record every chunk, read the preamble first, then the identity.
  const chunks: Buffer[] = [];
  pair.server.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  const nodeReader = new ProtocolReader(pair.server, { maxMessageBytes: MiB });
  const clientWrites = recordWrites(pair.client);
  const hooks = quietSubscriber();
  const abort = new AbortController();
  const tentacle = runSubscriberSession(pair.client, hooks, subscriberOptions(subscription), abort.signal);

  t.equal(await nodeReader.readPreamble({ timeoutMs: SHORT }), 'MX\n\n');
  t.equal(await nodeReader.readLine({ timeoutMs: SHORT }), `MX-SUBSCRIBER 1.0 ${subscription}`, 'spelled MX-SUBSCRIBER, with the R');
  t.equal(await nodeReader.readLine({ timeoutMs: SHORT }), '', 'then a blank line');

  // What the tentacle handed to its socket: exactly two writes so far.
  t.equal(clientWrites.length, 2, 'two writes before the node answered');
  t.equal(clientWrites[0]!.toString('hex'), '4d580d0a0d0a', 'write 1: the preamble 4D 58 0D 0A 0D 0A');
  t.equal(clientWrites[1]!.toString('hex'), identity.toString('hex'), 'write 2: identity line and blank line together');

  // What arrived at the node: exactly those bytes, and no chunk boundary falls inside the identity.
  // (TLS may coalesce the two writes into one chunk; it never splits one small record.)
  const received = Buffer.concat(chunks);
  t.equal(received.toString('hex'), '4d580d0a0d0a' + identity.toString('hex'), 'the node received exactly preamble + identity');
  let offset = 0;
  const boundaries: number[] = [];
  for (const c of chunks) boundaries.push((offset += c.length));
  const inside = boundaries.filter((b) => b > 6 && b < 6 + identity.length);
  t.same(inside, [], `the identity arrived whole (chunk sizes ${chunks.map((c) => c.length).join(', ')})`);

  // Finish the handshake and one idle poll, then let the tentacle stop.
  pair.server.write('MX-SERVER 1.0\r\n\r\n');
  pair.server.write(NULL_MESSAGE_DEFLATED);
  t.equal(await nodeReader.readLine({ timeoutMs: SHORT }), 'NEXT', 'the tentacle answers the null message with NEXT');
  t.same(hooks.polls, ['null']);
  t.equal(clientWrites.at(-1)!.toString(), 'NEXT\r\n', 'NEXT is one write of its own');
  abort.abort();
  pair.server.write('PROCEED\r\n');
  t.equal(await withTimeout(tentacle, SHORT, 'the tentacle to stop'), 'stopped');
  t.equal(await nodeReader.readLine({ timeoutMs: SHORT }), 'END', 'a stopping tentacle sends END');
  nodeReader.dispose();
});

t.test('the tentacle refuses a node that does not identify as MX-SERVER', async (t) => {
  for (const [answer, kind] of [
    ['MX-CLIENT 1.0\r\n\r\n', 'protocol.unexpected-identity'],
    ['HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', 'protocol.http-response'],
    ['MX-SERVER 1.0\r\nnot blank\r\n', 'protocol.error'],
  ] as const) {
    const pair = await createTlsPair();
    const reader = new ProtocolReader(pair.server, { maxMessageBytes: MiB });
    const session = runSubscriberSession(pair.client, quietSubscriber(), subscriberOptions(newSubscriptionId()));
    await reader.readPreamble({ timeoutMs: SHORT });
    pair.server.write(answer);
    await t.rejects(withTimeout(session, SHORT, 'the session to fail'), { name: 'HalibutError', kind }, JSON.stringify(answer));
    reader.dispose();
    await pair.close();
  }
});

t.test('runServerSession accepts the Linux preamble MX\\n\\n', async (t) => {
  const pair = await createTlsPair();
  t.teardown(() => pair.close());
  const subscription = newSubscriptionId();
  const stopping = new AbortController();
  let identifiedAs = '';
  const hooks: ServerHooks = {
    authorize: () => true,
    identified(identity) {
      identifiedAs = identity.subscriptionId ?? '';
      return true;
    },
    async nextWork() {
      return null;
    },
    sent() {
      stopping.abort(); // one null message, then the close (no END) on the next NEXT
    },
    responded() {},
    requeue() {},
  };
  const node = runServerSession(
    pair.server,
    hooks,
    { pollingQueueWaitMs: 100, receiveResponseTimeoutMs: SHORT, receiveTimeoutMs: SHORT, heartbeatTimeoutMs: SHORT, maxMessageBytes: MiB },
    stopping.signal,
  );
  const clientWrites = recordWrites(pair.client);
  const tentacleHooks = quietSubscriber();
  const tentacle = runSubscriberSession(pair.client, tentacleHooks, { ...subscriberOptions(subscription), preamble: PREAMBLE_LF });
  t.equal(await withTimeout(node, SHORT, 'the node session'), 'stopped');
  t.match(await withTimeout(tentacle.then(() => null, (e: unknown) => e), SHORT, 'the tentacle session'), { kind: 'closed.by-peer' });
  t.equal(clientWrites[0]!.toString('hex'), '4d580a0a', 'the tentacle sent 4D 58 0A 0A');
  t.equal(identifiedAs, subscription, 'the node identified the subscriber');
  t.same(tentacleHooks.polls, ['null']);
});

t.test('runServerSession closes on an unknown identity', async (t) => {
  const pair = await createTlsPair();
  t.teardown(() => pair.close());
  const hooks: ServerHooks = {
    authorize: () => true,
    identified: () => true,
    nextWork: async () => null,
    sent() {},
    responded() {},
    requeue() {},
  };
  const node = runServerSession(
    pair.server,
    hooks,
    { pollingQueueWaitMs: 100, receiveResponseTimeoutMs: SHORT, receiveTimeoutMs: SHORT, heartbeatTimeoutMs: SHORT, maxMessageBytes: MiB },
    new AbortController().signal,
  );
  pair.client.write('MX\r\n\r\nMX-SUBSCRIBE 1.0 poll://abc/\r\n\r\n');
  const err = await withTimeout(node.then(() => null, (e: unknown) => e), SHORT, 'the node session');
  t.ok(err instanceof HalibutError && err.kind === 'protocol.unexpected-identity', 'MX-SUBSCRIBE (no R) is not an identity');
});
