import t from 'tap';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { HANDSHAKE_PAGE_HTML, TENTACLE_CAPABILITIES, TYPE_CAPABILITIES_RESPONSE_V2 } from '../../src/halibut/constants.js';
import { Guid } from '../../src/halibut/guid.js';
import { okResponse, requestId, serviceEndPoint, type RequestMessage, type ResponseMessage } from '../../src/halibut/messages.js';
import {
  runServerSession,
  type QueuedWork,
  type ServerHooks,
  type ServerSessionEnd,
  type ServerSessionOptions,
} from '../../src/halibut/server-session.js';
import { runSubscriberSession, type SubscriberHooks, type SubscriberSessionOptions } from '../../src/halibut/subscriber-session.js';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { connectTls, getTestCertificates, startTlsServer } from '../helpers/tls-pair.js';
import { waitFor, withTimeout } from '../helpers/wait.js';

/** The polling side presents the tentacle's certificate, as a real tentacle does. */
const { tentacle: tentacleCert } = await getTestCertificates();

const MiB = 1024 * 1024;
const SHORT = 3_000;
const IDLE_WAIT_MS = 200;

const NODE_OPTIONS: ServerSessionOptions = {
  pollingQueueWaitMs: IDLE_WAIT_MS,
  receiveResponseTimeoutMs: SHORT,
  receiveTimeoutMs: SHORT,
  heartbeatTimeoutMs: SHORT,
  maxMessageBytes: MiB,
};

function tentacleOptions(subscriptionId: string): SubscriberSessionOptions {
  return { subscriptionId, receiveRequestTimeoutMs: SHORT, receiveTimeoutMs: SHORT, heartbeatTimeoutMs: SHORT, maxMessageBytes: MiB };
}

/** A node's hooks over a simple in-memory queue; `nextWork` honours its signal. */
class TestNode implements ServerHooks {
  queue: QueuedWork[] = [];
  sentKinds: string[] = [];
  sentAt: number[] = [];
  responses: { work: QueuedWork; response: ResponseMessage }[] = [];
  requeued: QueuedWork[] = [];
  httpPreambles: string[] = [];
  allow = true;
  onSent: ((kind: string, count: number) => void) | null = null;

  authorize(): boolean {
    return this.allow;
  }
  identified(): boolean {
    return true;
  }
  nextWork(_subscription: string, waitMs: number, signal: AbortSignal): Promise<QueuedWork | null> {
    const work = this.queue.shift();
    if (work) return Promise.resolve(work);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve(null);
      };
      const timer = setTimeout(done, waitMs);
      signal.addEventListener('abort', done, { once: true });
    });
  }
  sent(kind: 'null' | 'request'): void {
    this.sentKinds.push(kind);
    this.sentAt.push(performance.now());
    this.onSent?.(kind, this.sentKinds.length);
  }
  responded(work: QueuedWork, response: ResponseMessage): void {
    this.responses.push({ work, response });
  }
  requeue(work: QueuedWork): void {
    this.requeued.push(work);
  }
  answeredHttp(preamble: string): void {
    this.httpPreambles.push(preamble);
  }
}

class TestTentacle implements SubscriberHooks {
  polls: ('null' | 'request')[] = [];
  handled: RequestMessage[] = [];
  identifiedCount = 0;
  onPolled: ((count: number) => void) | null = null;
  identified(): void {
    this.identifiedCount++;
  }
  polled(kind: 'null' | 'request'): void {
    this.polls.push(kind);
    this.onPolled?.(this.polls.length);
  }
  async handle(request: RequestMessage) {
    this.handled.push(request);
    return {
      response: okResponse(request.id, { $type: TYPE_CAPABILITIES_RESPONSE_V2, SupportedCapabilities: [...TENTACLE_CAPABILITIES] }),
    };
  }
}

interface Harness {
  node: TestNode;
  tentacle: TestTentacle;
  nodeEnd: Promise<ServerSessionEnd>;
  client: TLSSocket;
  server: () => TLSSocket;
  port: number;
  stopping: AbortController;
  close(): Promise<void>;
}

/** A node listening on loopback TLS that runs runServerSession on each connection. */
async function startNode(node: TestNode, stopping = new AbortController()) {
  let resolveEnd!: (e: ServerSessionEnd) => void;
  let rejectEnd!: (e: unknown) => void;
  const nodeEnd = new Promise<ServerSessionEnd>((res, rej) => ((resolveEnd = res), (rejectEnd = rej)));
  let serverSocket: TLSSocket | null = null;
  const srv = await startTlsServer((socket) => {
    serverSocket = socket;
    runServerSession(socket, node, NODE_OPTIONS, stopping.signal).then(
      (end) => {
        socket.end();
        resolveEnd(end);
      },
      (e) => {
        socket.destroy();
        rejectEnd(e);
      },
    );
  });
  nodeEnd.catch(() => {}); // observed by the tests that care
  return { srv, nodeEnd, stopping, server: () => serverSocket! };
}

async function harness(): Promise<Harness> {
  const node = new TestNode();
  const { srv, nodeEnd, stopping, server } = await startNode(node);
  const client = await connectTls(srv.port, { identity: tentacleCert });
  return {
    node,
    tentacle: new TestTentacle(),
    nodeEnd,
    client,
    server,
    port: srv.port,
    stopping,
    async close() {
      client.destroy();
      await srv.close();
    },
  };
}

function capabilitiesRequest(subscription: string, sequence: number): QueuedWork {
  const activity = Guid.random();
  return {
    request: {
      id: requestId('ICapabilitiesServiceV2', 'GetCapabilities', sequence, activity),
      activityId: activity,
      endpoint: serviceEndPoint(subscription, null, {
        pollingRequestQueueTimeoutMs: 120_000,
        retryListeningSleepIntervalMs: 1_000,
        retryCountLimit: 5,
        connectionErrorRetryTimeoutMs: 300_000,
        tcpClientConnectTimeoutMs: 60_000,
      }),
      service: 'ICapabilitiesServiceV2',
      method: 'GetCapabilities',
      params: [],
    },
  };
}

t.test('a queued request is collected and answered with its id echoed', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const subscription = newSubscriptionId();
  const work = capabilitiesRequest(subscription, 1);
  h.node.queue.push(work);
  const abort = new AbortController();
  const tentacle = runSubscriberSession(h.client, h.tentacle, tentacleOptions(subscription), abort.signal);

  await waitFor(() => h.node.responses.length === 1, SHORT, 'the response');
  const { response } = h.node.responses[0]!;
  t.equal(response.id, work.request.id, 'the response echoes the request id');
  t.equal(response.error, null);
  t.same(response.result, { $type: TYPE_CAPABILITIES_RESPONSE_V2, SupportedCapabilities: ['IScriptService', 'IFileTransferService', 'IScriptServiceV2'] });
  t.equal(h.tentacle.handled.length, 1);
  t.ok(h.tentacle.handled[0]!.activityId.equals(work.request.activityId), 'the activity GUID arrived unchanged');
  t.same(h.tentacle.handled[0]!.endpoint, work.request.endpoint, 'the endpoint arrived unchanged');
  t.equal(h.tentacle.polls[0], 'request', 'the first poll carried the request');
  t.equal(h.node.sentKinds[0], 'request');

  abort.abort();
  t.equal(await withTimeout(tentacle, SHORT, 'the tentacle to stop'), 'stopped');
  h.client.end();
  t.equal(await withTimeout(h.nodeEnd, SHORT, 'the node session'), 'ended-by-peer');
});

t.test('idle: the null message after the wait, and NEXT/PROCEED cycles repeat', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const subscription = newSubscriptionId();
  const abort = new AbortController();
  const tentacle = runSubscriberSession(h.client, h.tentacle, tentacleOptions(subscription), abort.signal);
  const started = performance.now();
  await waitFor(() => h.tentacle.polls.length >= 4, SHORT, 'four idle polls');
  const elapsed = performance.now() - started;
  t.same(h.tentacle.polls.slice(0, 4), ['null', 'null', 'null', 'null'], 'every poll is the null message');
  t.same(h.node.sentKinds.slice(0, 4), ['null', 'null', 'null', 'null']);
  const gaps = h.node.sentAt.slice(1, 4).map((at, i) => at - h.node.sentAt[i]!);
  t.comment(`gaps between null messages: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
  t.ok(gaps.every((g) => g >= IDLE_WAIT_MS - 20 && g < IDLE_WAIT_MS + 1_500), 'one null message per wait');
  t.ok(elapsed >= 3 * IDLE_WAIT_MS, `four polls took ${elapsed.toFixed(0)} ms (each waited ~${IDLE_WAIT_MS} ms)`);
  t.equal(h.tentacle.identifiedCount, 1, 'one identification for all the cycles');
  abort.abort();
  t.equal(await withTimeout(tentacle, SHORT, 'the tentacle to stop'), 'stopped');
});

t.test('graceful stop from the node: it closes instead of PROCEED, without END', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const subscription = newSubscriptionId();
  const atTentacle: Buffer[] = [];
  h.client.on('data', (c: Buffer) => atTentacle.push(Buffer.from(c)));
  h.node.onSent = (_kind, count) => {
    if (count === 2) h.stopping.abort();
  };
  const tentacle = runSubscriberSession(h.client, h.tentacle, tentacleOptions(subscription));
  const err = await withTimeout(tentacle.then(() => null, (e: unknown) => e), SHORT, 'the tentacle session');
  t.match(err, { kind: 'closed.by-peer' }, 'the tentacle sees the close where it expected PROCEED');
  t.equal(await withTimeout(h.nodeEnd, SHORT, 'the node session'), 'stopped');
  t.same(h.tentacle.polls, ['null', 'null']);
  t.notOk(Buffer.concat(atTentacle).toString('latin1').includes('END\r\n'), 'the node never sent END');
});

t.test('END in place of PROCEED from a peer is a protocol error', async (t) => {
  // A stub peer: MX-SERVER, one null message, then END where PROCEED belongs.
  const NULL_MESSAGE = Buffer.from('e3636060e0f24d2d2e4e4c4f65600000', 'hex');
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
        socket.write('END\r\n');
      }
    });
    socket.on('error', () => {});
  });
  t.teardown(() => srv.close());
  const client = await connectTls(srv.port, { identity: tentacleCert });
  t.teardown(() => client.destroy());
  const tentacle = new TestTentacle();
  const session = runSubscriberSession(client, tentacle, tentacleOptions(newSubscriptionId()));
  const err = await withTimeout(session.then(() => null, (e: unknown) => e), SHORT, 'the tentacle session');
  t.match(err, { kind: 'protocol.unexpected-control', message: /expected PROCEED, got END/ }, 'END instead of PROCEED is a protocol error');
  t.same(tentacle.polls, ['null']);
});

t.test('graceful stop from the node while it waits for work', async (t) => {
  const node = new TestNode();
  const stopping = new AbortController();
  const opts = { ...NODE_OPTIONS, pollingQueueWaitMs: 10_000 };
  let end!: Promise<ServerSessionEnd>;
  const srv = await startTlsServer((socket) => {
    end = runServerSession(socket, node, opts, stopping.signal);
    end.then(() => socket.end(), () => socket.destroy());
  });
  t.teardown(() => srv.close());
  const client = await connectTls(srv.port, { identity: tentacleCert });
  const tentacle = new TestTentacle();
  const session = runSubscriberSession(client, tentacle, tentacleOptions(newSubscriptionId()));
  await waitFor(() => end !== undefined && tentacle.identifiedCount === 1, SHORT, 'identification');
  await new Promise((r) => setTimeout(r, 100));
  const started = performance.now();
  stopping.abort();
  const err = await withTimeout(session.then(() => null, (e: unknown) => e), SHORT, 'the tentacle session');
  t.match(err, { kind: 'closed.by-peer' }, 'the node closed where the tentacle expected PROCEED');
  t.equal(await withTimeout(end, SHORT, 'the node session'), 'stopped');
  t.ok(performance.now() - started < 6_000, 'the stop did not wait for the 10 s queue wait');
  t.same(tentacle.polls, ['null'], 'the wait ended with the null message, then the close');
});

t.test('graceful stop from the tentacle: END, and the node ends normally', async (t) => {
  const node = new TestNode();
  const opts = { ...NODE_OPTIONS, pollingQueueWaitMs: 10_000 }; // the node is deep in its wait when END comes
  let end!: Promise<ServerSessionEnd>;
  const received: Buffer[] = [];
  const srv = await startTlsServer((socket) => {
    socket.on('data', (c: Buffer) => received.push(Buffer.from(c)));
    end = runServerSession(socket, node, opts, new AbortController().signal);
    end.then(() => socket.end(), () => socket.destroy());
  });
  t.teardown(() => srv.close());
  const client = await connectTls(srv.port, { identity: tentacleCert });
  const tentacle = new TestTentacle();
  const abort = new AbortController();
  const session = runSubscriberSession(client, tentacle, tentacleOptions(newSubscriptionId()), abort.signal);
  await waitFor(() => end !== undefined && tentacle.identifiedCount === 1, SHORT, 'identification');
  await new Promise((r) => setTimeout(r, 100));
  const started = performance.now();
  abort.abort();
  t.equal(await withTimeout(session, SHORT, 'the tentacle session'), 'stopped');
  client.end(); // a stopping tentacle closes after END
  t.equal(await withTimeout(end, SHORT, 'the node session'), 'ended-by-peer', 'END then close is a normal end, not an error');
  t.ok(performance.now() - started < 6_000, 'the node did not sit out its 10 s wait');
  t.ok(Buffer.concat(received).toString('latin1').endsWith('END\r\n'), 'the last bytes the node received were END');
  t.same(node.requeued, [], 'nothing to requeue');
});

t.test('a non-MX peer (POST /handshake) gets HTTP 200 and the page', async (t) => {
  const node = new TestNode();
  let end!: Promise<ServerSessionEnd>;
  const srv = await startTlsServer((socket) => {
    end = runServerSession(socket, node, NODE_OPTIONS, new AbortController().signal);
    end.catch(() => socket.destroy());
  });
  t.teardown(() => srv.close());
  const { status, headers, body } = await withTimeout(
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port: srv.port, method: 'POST', path: '/handshake', rejectUnauthorized: false, agent: false },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    }),
    SHORT,
    'the HTTP answer',
  );
  t.equal(status, 200);
  t.equal(headers['content-type'], 'text/html; charset=utf-8');
  t.equal(Number(headers['content-length']), Buffer.byteLength(body));
  t.equal(body, HANDSHAKE_PAGE_HTML);
  t.match(body, /Octopus Server configured successfully/);
  t.equal(await withTimeout(end, SHORT, 'the node session'), 'http-page');
  t.match(node.httpPreambles[0] ?? '', /^POST \/handshake HTTP\/1\.1\n/, 'the node saw the request line');
});

t.test('authorize() false: closed without a single byte sent', async (t) => {
  const node = new TestNode();
  node.allow = false;
  let end!: Promise<ServerSessionEnd>;
  const srv = await startTlsServer((socket) => {
    end = runServerSession(socket, node, NODE_OPTIONS, new AbortController().signal);
  });
  t.teardown(() => srv.close());
  const client = await connectTls(srv.port, { identity: tentacleCert });
  let appBytes = 0;
  client.on('data', (c: Buffer) => (appBytes += c.length));
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const session = runSubscriberSession(client, new TestTentacle(), tentacleOptions(newSubscriptionId()));
  const err = await withTimeout(session.then(() => null, (e: unknown) => e), SHORT, 'the tentacle session to fail');
  t.ok(err, `the tentacle session failed (${(err as Error)?.message})`);
  await withTimeout(closed, SHORT, 'the connection to close');
  t.equal(appBytes, 0, 'the tentacle received 0 application bytes');
  t.equal(await withTimeout(end, SHORT, 'the node session'), 'rejected');
});

t.test('the exact bytes of a handshake and an idle cycle, seen from each end', async (t) => {
  const node = new TestNode();
  const stopping = new AbortController();
  node.onSent = (_kind, count) => {
    if (count === 2) stopping.abort(); // cycle 1: null, NEXT, PROCEED; cycle 2: null, NEXT, close (no END)
  };
  const atNode: Buffer[] = [];
  let end!: Promise<ServerSessionEnd>;
  const srv = await startTlsServer((socket) => {
    socket.on('data', (c: Buffer) => atNode.push(Buffer.from(c)));
    end = runServerSession(socket, node, { ...NODE_OPTIONS, pollingQueueWaitMs: 50 }, stopping.signal);
    end.then(() => socket.end(), () => socket.destroy());
  });
  t.teardown(() => srv.close());
  const client = await connectTls(srv.port, { identity: tentacleCert });
  const atTentacle: Buffer[] = [];
  client.on('data', (c: Buffer) => atTentacle.push(Buffer.from(c)));
  const subscription = 'poll://g3662re9njtelsyfhm7t/';
  const tentacle = runSubscriberSession(client, new TestTentacle(), tentacleOptions(subscription));
  t.match(await withTimeout(tentacle.then(() => null, (e: unknown) => e), SHORT, 'the tentacle session'), { kind: 'closed.by-peer' });
  t.equal(await withTimeout(end, SHORT, 'the node session'), 'stopped');
  await new Promise((r) => setImmediate(r));

  const tentacleToNode = Buffer.concat(atNode).toString('hex');
  const nodeToTentacle = Buffer.concat(atTentacle).toString('hex');
  const h = (s: string) => Buffer.from(s, 'latin1').toString('hex');
  const NULL = 'e3636060e0f24d2d2e4e4c4f65600000';
  const expectedUp = [
    '4d580d0a0d0a', // MX\r\n\r\n
    h(`MX-SUBSCRIBER 1.0 ${subscription}\r\n\r\n`),
    h('NEXT\r\n'),
    h('NEXT\r\n'),
  ];
  const expectedDown = [
    h('MX-SERVER 1.0\r\n\r\n'),
    NULL, // null message, 16 bytes
    h('PROCEED\r\n'),
    NULL, // then the close: a polling node never sends END
  ];
  const spaced = (x: string) => x.replace(/(..)(?!$)/g, '$1 ');
  t.comment('tentacle -> node (as received by the node):');
  for (const part of expectedUp) t.comment('  ' + spaced(part));
  t.comment('node -> tentacle (as received by the tentacle):');
  for (const part of expectedDown) t.comment('  ' + spaced(part));
  t.equal(tentacleToNode, expectedUp.join(''), 'tentacle -> node: preamble, identity, NEXT, NEXT');
  t.equal(nodeToTentacle, expectedDown.join(''), 'node -> tentacle: MX-SERVER, null, PROCEED, null, then only the close');
  t.equal(Buffer.from(NULL, 'hex').length, 16);
});
