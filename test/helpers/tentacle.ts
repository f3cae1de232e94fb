/**
 * Test doubles for the tentacle's tests: a small polling node (src/halibut runServerSession
 * over tls.createServer, one in-memory queue per subscription) and a tiny REST server with
 * the endpoints registration uses. Loopback only, ports chosen by the OS.
 */
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Guid } from '../../src/halibut/guid.js';
import { requestId, serviceEndPoint, type RequestMessage, type ResponseMessage } from '../../src/halibut/messages.js';
import { runServerSession, type QueuedWork, type ServerSessionEnd } from '../../src/halibut/server-session.js';
import type { CertificateIdentity } from '../../src/pki/certificate.js';
import { thumbprintOfDer } from '../../src/pki/thumbprint.js';
import { PROTOCOL_DEFAULTS } from '../../src/scenario/defaults.js';
import type { PollfleetEvent, FleetEvent } from '../../src/core/events.js';
import type { ConnectionTimeouts } from '../../src/tentacle/polling-connection.js';
import { getTestCertificates } from './tls-pair.js';
import { waitFor } from './wait.js';

/** Short protocol timeouts for tests (never minutes). */
export const TEST_TIMEOUTS: ConnectionTimeouts = {
  connectTimeoutMs: 2_000,
  receiveRequestTimeoutMs: 2_000,
  receiveTimeoutMs: 2_000,
  heartbeatTimeoutMs: 2_000,
  keepAliveInitialDelayMs: 1_000,
  maxMessageBytes: 1024 * 1024,
};

export interface StubNodeOptions {
  identity?: CertificateIdentity;
  /** May a client thumbprint (null: no certificate) go on after the preamble? All with a certificate by default. */
  trust?: (thumbprint: string | null) => boolean;
  /** Long-poll before the null message. */
  pollingQueueWaitMs?: number;
  receiveResponseTimeoutMs?: number;
  receiveTimeoutMs?: number;
  heartbeatTimeoutMs?: number;
}

/** A stand-in polling node (not src/cluster): src/halibut's server session over tls.createServer, controlled by the test. */
export interface StubNode {
  host: string;
  port: number;
  address: string;
  thumbprint: string;
  /** Queue a request for a subscription; resolves with it and the tentacle's response. */
  call(subscription: string, service: string, method: string, params?: unknown[]): Promise<{ request: RequestMessage; response: ResponseMessage }>;
  /** Requests written to tentacles, in order. */
  dispatched: RequestMessage[];
  sentNull: number;
  identified: string[];
  sessionEnds: (ServerSessionEnd | 'error')[];
  accepted: number;
  /** Open sockets right now. */
  readonly openConnections: number;
  /** Connections on which `END` arrived from the tentacle. */
  receivedEnd: number;
  /** Destroy every open connection (the listener stays up). */
  dropConnections(): void;
  /** Stop reading every open connection, like a SIGSTOPped process (the kernel still ACKs). */
  hang(): void;
  /** Graceful: every session closes at its next NEXT (no END, as a real polling node). */
  stopGracefully(): void;
  close(): Promise<void>;
}

interface SubscriptionQueue {
  items: QueuedWork[];
  waiters: ((w: QueuedWork | null) => void)[];
}

export async function startStubNode(o: StubNodeOptions = {}): Promise<StubNode> {
  const identity = o.identity ?? (await getTestCertificates()).node;
  const trust = o.trust ?? ((t) => t !== null);
  const queues = new Map<string, SubscriptionQueue>();
  const pending = new Map<RequestMessage, (r: ResponseMessage) => void>();
  const sockets = new Set<tls.TLSSocket>();
  const stopping = new AbortController();
  let sequence = 0;

  const queueOf = (s: string): SubscriptionQueue => {
    let q = queues.get(s);
    if (!q) queues.set(s, (q = { items: [], waiters: [] }));
    return q;
  };
  const push = (s: string, w: QueuedWork, front = false) => {
    const q = queueOf(s);
    const waiter = q.waiters.shift();
    if (waiter) waiter(w);
    else if (front) q.items.unshift(w);
    else q.items.push(w);
  };

  const node: StubNode = {
    host: '127.0.0.1',
    port: 0,
    address: '',
    thumbprint: identity.thumbprint,
    dispatched: [],
    sentNull: 0,
    identified: [],
    sessionEnds: [],
    accepted: 0,
    receivedEnd: 0,
    dropConnections() {
      for (const s of sockets) s.destroy();
    },
    hang() {
      for (const s of sockets) s.pause();
    },
    get openConnections() {
      return sockets.size;
    },
    call(subscription, service, method, params = []) {
      const request: RequestMessage = {
        id: requestId(service, method, ++sequence),
        activityId: Guid.random(),
        endpoint: serviceEndPoint(subscription, null, {
          pollingRequestQueueTimeoutMs: PROTOCOL_DEFAULTS.pollingRequestQueueTimeoutMs,
          retryListeningSleepIntervalMs: PROTOCOL_DEFAULTS.retryListeningSleepIntervalMs,
          retryCountLimit: PROTOCOL_DEFAULTS.retryCountLimit,
          connectionErrorRetryTimeoutMs: PROTOCOL_DEFAULTS.connectionErrorRetryTimeoutMs,
          tcpClientConnectTimeoutMs: PROTOCOL_DEFAULTS.connectTimeoutMs,
        }),
        service,
        method,
        params,
      };
      const answered = new Promise<ResponseMessage>((resolve) => pending.set(request, resolve));
      push(subscription, { request });
      return answered.then((response) => ({ request, response }));
    },
    stopGracefully() {
      stopping.abort();
    },
    async close() {
      stopping.abort();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = tls.createServer(
    { cert: identity.certPem, key: identity.keyPem, requestCert: true, rejectUnauthorized: false },
    (socket) => {
      node.accepted++;
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => sockets.delete(socket));
      let tail = '';
      let sawEnd = false;
      socket.on('data', (chunk: Buffer) => {
        tail = (tail + chunk.toString('latin1')).slice(-64);
        if (!sawEnd && /(^|\n)END\r\n/.test(tail)) {
          sawEnd = true;
          node.receivedEnd++;
        }
      });
      const der = socket.getPeerCertificate()?.raw;
      const thumbprint = der ? thumbprintOfDer(der) : null;
      runServerSession(
        socket,
        {
          authorize: () => trust(thumbprint),
          identified: (id) => {
            node.identified.push(id.subscriptionId!);
            return true;
          },
          nextWork: (subscription, waitMs, signal) => {
            const q = queueOf(subscription);
            const item = q.items.shift();
            if (item) return Promise.resolve(item);
            return new Promise<QueuedWork | null>((resolve) => {
              const finish = (w: QueuedWork | null) => {
                clearTimeout(timer);
                signal.removeEventListener('abort', onAbort);
                const i = q.waiters.indexOf(finish);
                if (i >= 0) q.waiters.splice(i, 1);
                resolve(w);
              };
              const onAbort = () => finish(null);
              const timer = setTimeout(() => finish(null), waitMs);
              signal.addEventListener('abort', onAbort, { once: true });
              q.waiters.push(finish);
            });
          },
          sent: (kind, work) => {
            if (kind === 'null') node.sentNull++;
            else node.dispatched.push(work!.request);
          },
          responded: (work, response) => {
            pending.get(work.request)?.(response);
            pending.delete(work.request);
          },
          requeue: (work) => push(work.request.endpoint.BaseUri, work, true),
        },
        {
          pollingQueueWaitMs: o.pollingQueueWaitMs ?? 200,
          receiveResponseTimeoutMs: o.receiveResponseTimeoutMs ?? 2_000,
          receiveTimeoutMs: o.receiveTimeoutMs ?? 2_000,
          heartbeatTimeoutMs: o.heartbeatTimeoutMs ?? 2_000,
          maxMessageBytes: 1024 * 1024,
        },
        stopping.signal,
      ).then(
        (end) => {
          node.sessionEnds.push(end);
          if (end === 'rejected' || end === 'refused-identity') socket.destroy();
        },
        () => {
          node.sessionEnds.push('error');
          socket.destroy();
        },
      );
    },
  );
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  node.port = (server.address() as AddressInfo).port;
  node.address = `https://127.0.0.1:${node.port}`;
  return node;
}

/** A TLS server that answers like an HTTP (layer-7) balancer: `HTTP/1.1 400 Bad Request` to anything. */
export async function startHttpOverTlsServer(identity: CertificateIdentity): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert: identity.certPem, key: identity.keyPem }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', () => {
      socket.end('HTTP/1.1 400 Bad Request\r\nServer: awselb/2.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port on 127.0.0.1 nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Collects events and lets a test wait, bounded, for one that matches. */
export class EventLog {
  readonly events: FleetEvent[] = [];
  #waiters: { match: (e: FleetEvent) => boolean; resolve: (e: FleetEvent) => void }[] = [];

  readonly sink = (e: PollfleetEvent): void => {
    const f = e as FleetEvent;
    this.events.push(f);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(f)) return true;
      w.resolve(f);
      return false;
    });
  };

  of<T extends FleetEvent['type']>(type: T): Extract<FleetEvent, { type: T }>[] {
    return this.events.filter((e) => e.type === type) as Extract<FleetEvent, { type: T }>[];
  }

  /** The first event (already seen or future) matching `match`, within `timeoutMs`. */
  waitFor(match: (e: FleetEvent) => boolean, timeoutMs: number, what: string): Promise<FleetEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<FleetEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.#waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  /** Wait until `count` events match. */
  waitForCount(match: (e: FleetEvent) => boolean, count: number, timeoutMs: number, what: string): Promise<void> {
    return waitFor(() => this.events.filter(match).length >= count, timeoutMs, `${count} x ${what}`).then(() => undefined);
  }
}

// ---------- REST ----------

export interface TestApiOptions {
  apiKey: string;
  serverThumbprint: string;
  /** Root document Version. */
  version?: string;
}

export interface TestApi {
  url: string;
  /** Machines registered (request bodies). */
  machines: { id: string; spaceId: string; body: Record<string, unknown> }[];
  deleted: string[];
  /** Every request as `METHOD path`. */
  requests: string[];
  close(): Promise<void>;
}

/** The REST endpoints registration uses, with Octopus-like error bodies. */
export async function startTestApi(o: TestApiOptions): Promise<TestApi> {
  const api: TestApi = { url: '', machines: [], deleted: [], requests: [], close: async () => {} };
  const spaces = [
    { Id: 'Spaces-1', Name: 'Default', IsDefault: true },
    { Id: 'Spaces-2', Name: 'Platform', IsDefault: false },
  ];
  const environments: Record<string, { Id: string; Name: string }[]> = {
    'Spaces-1': [
      { Id: 'Environments-1', Name: 'Production' },
      { Id: 'Environments-2', Name: 'Staging' },
    ],
    'Spaces-2': [{ Id: 'Environments-11', Name: 'Platform' }],
  };
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      api.requests.push(`${req.method} ${path}`);
      if (req.headers['x-octopus-apikey'] !== o.apiKey) {
        // Deliberately echoes the key it got, to prove the client scrubs it.
        json(res, 401, { ErrorMessage: `You must be logged in to perform this action. Key ${String(req.headers['x-octopus-apikey'])} is not valid.`, Errors: [] });
        return;
      }
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && path === '/api') {
        json(res, 200, { Application: 'Octopus Deploy', Version: o.version ?? '2025.1.1234', ApiVersion: '3.0.0', Links: { Self: '/api', Spaces: '/api/spaces{/id}{?skip,ids,take,partialName}' } });
      } else if (req.method === 'GET' && path === '/api/spaces') {
        json(res, 200, { ItemType: 'Space', Items: spaces });
      } else if (req.method === 'GET' && path === '/api/configuration/certificates/certificate-global') {
        json(res, 200, { Id: 'certificate-global', Thumbprint: o.serverThumbprint });
      } else if (req.method === 'GET' && (m = /^\/api\/(Spaces-\d+)\/environments$/.exec(path))) {
        json(res, 200, { ItemType: 'Environment', Items: environments[m[1]!] ?? [] });
      } else if (req.method === 'GET' && (m = /^\/api\/(Spaces-\d+)\/machines$/.exec(path))) {
        const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name') ?? '';
        json(res, 200, { ItemType: 'Machine', Items: api.machines.filter((x) => x.spaceId === m![1] && String(x.body['Name']).includes(name)).map((x) => ({ Id: x.id, ...x.body })) });
      } else if (req.method === 'POST' && (m = /^\/api\/(Spaces-\d+)\/machines$/.exec(path))) {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          json(res, 400, { ErrorMessage: 'The request body is not JSON', Errors: [] });
          return;
        }
        if (api.machines.some((x) => x.body['Name'] === body['Name'])) {
          json(res, 400, {
            ErrorMessage: 'There was a problem with your request.',
            Errors: [`A machine named '${String(body['Name'])}' already exists in this space.`],
          });
          return;
        }
        const id = `Machines-${api.machines.length + 1}`;
        api.machines.push({ id, spaceId: m[1]!, body });
        json(res, 201, { Id: id, ...body });
      } else if (req.method === 'DELETE' && (m = /^\/api\/(Spaces-\d+)\/machines\/([^/]+)$/.exec(path))) {
        const i = api.machines.findIndex((x) => x.id === m![2] && x.spaceId === m![1]);
        if (i < 0) {
          json(res, 404, { ErrorMessage: `The resource '${m[2]}' was not found.`, Errors: [] });
          return;
        }
        api.deleted.push(api.machines[i]!.id);
        api.machines.splice(i, 1);
        json(res, 200, {});
      } else {
        json(res, 404, { ErrorMessage: `No route for ${req.method} ${path}`, Errors: [] });
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return api;
}
