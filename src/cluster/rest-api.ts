import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { isSubscriptionId } from '../halibut/index.js';
import type { CertificateIdentity } from '../pki/index.js';
import { z } from 'zod';
import { CLUSTER_DEFAULTS, PING_PATH } from '../scenario/defaults.js';
import type { Machine, MachineRegistry, NewMachine } from './machine-registry.js';
import { serverNodesAnswer, type ServerNodeState } from './rest-api-server-nodes.js';
import { RestApiRateLimiter, sendTooManyRequests, type ApiRateLimit } from './rest-api-rate-limit.js';
import { handleTaskRoute, type TaskApi } from './rest-api-tasks.js';

/**
 * The subset of the Octopus REST API a polling Tentacle's registration and a load balancer's
 * health check use (reference section 8). Routes match case-insensitively, as Octopus does.
 */

/** Where the server certificate's thumbprint is read. *Unconfirmed* for real Octopus (reference section 8). */
export const CERTIFICATE_PATH = '/api/configuration/certificates/certificate-global';
export const API_KEY_HEADER = 'x-octopus-apikey';
export const DEFAULT_OCTOPUS_VERSION = '2026.4.0';
export const API_VERSION = '3.0.0';
const MAX_BODY_BYTES = CLUSTER_DEFAULTS.restMaxBodyBytes;

export const ENVIRONMENTS: readonly { Id: string; Name: string }[] = [
  { Id: 'Environments-1', Name: 'Test' },
  { Id: 'Environments-2', Name: 'Production' },
];

export interface RedisStatus {
  IsEnabled: boolean;
  IsConfigured: boolean;
  IsReachable: boolean;
}

export interface RestApiOptions {
  nodeName: string;
  host: string;
  /** 0 = a free port. */
  port: number;
  /** Serve HTTPS with this certificate (else plain HTTP). */
  httpsCertificate?: CertificateIdentity;
  /** The cluster's API key. A secret: compared in constant time, never logged or echoed. */
  apiKey: string;
  spaceId: string;
  registry: MachineRegistry;
  /** Thumbprint of the cluster's server certificate. */
  serverThumbprint: string;
  isDraining: () => boolean;
  redisStatus?: RedisStatus;
  version?: string;
  /** Shared by the nodes of one cluster. */
  installationId?: string;
  /**
   * HTTP upgrades (polling over WebSockets on /OctopusComms). When set, the HTTPS server asks
   * for a client certificate and accepts any, so the handler can authorise by thumbprint.
   */
  upgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** The cluster's server nodes for GET /api/octopusservernodes (default: this node alone). */
  serverNodes?: () => ServerNodeState[];
  /** A plain (non-upgrade) request on the WebSocket path: answered here when it returns true. */
  webSocketPage?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** Answer 429 with Retry-After beyond this rate (scenario cluster.apiRateLimit); the ping path is exempt. */
  rateLimit?: ApiRateLimit | null;
  /** Items per page of a collection when the request names no `take` (Octopus: 30). */
  pageSize?: number;
  /** Server tasks (POST /api/tasks, GET /api/tasks/{id}: src/cluster/rest-api-tasks.ts). */
  tasks?: TaskApi;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly errors: string[] = []) {
    super(message);
  }
}

type Json = Record<string, unknown>;

/** Response header naming the simulated node that answered (pollfleet's own, not an Octopus header). */
export const NODE_HEADER = 'X-Pollfleet-Node';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The JSON error every refused request gets: `{ ErrorMessage, Errors }`, as Octopus answers. */
function sendError(res: http.ServerResponse, e: HttpError): void {
  // After a body too large the rest of it is not read: the connection closes once the answer is out.
  send(res, e.status, { ErrorMessage: e.message, Errors: e.errors }, e.status === 413 ? { Connection: 'close' } : {});
}

/** The raw answer to a request Node's HTTP parser refused (bad request line, headers too large, timeout). */
function clientErrorResponse(status: number, message: string): string {
  const text = JSON.stringify({ ErrorMessage: message, Errors: [] });
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n`
    + `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

const tooLarge = () => new HttpError(413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`);

/**
 * Content-Type of a request body: JSON (`application/json`, `application/*+json`, `text/json`)
 * in UTF-8, or no Content-Type at all (the Octopus clients always send JSON). Anything else
 * is 415 in the JSON error form: Octopus Server's API (ASP.NET Core input formatters) answers
 * a body it has no formatter for with 415 Unsupported Media Type.
 */
function unsupportedMediaType(type: string | undefined): HttpError | null {
  if (type === undefined) return null;
  const [media = '', ...params] = type.split(';').map((p) => p.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  const json = media === 'application/json' || media === 'text/json' || /^application\/[a-z0-9.+-]+\+json$/.test(media);
  if (json && (charset === undefined || charset === 'utf-8' || charset === 'utf8')) return null;
  return new HttpError(415, 'The request body must be JSON.', [`Content-Type ${JSON.stringify(type.slice(0, 100))} is not supported: send application/json (UTF-8).`]);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  // Read (bounded) even a body of the wrong type, so the 415 answer reaches the client.
  const wrongType = unsupportedMediaType(req.headers['content-type']);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        // Stop collecting but keep the socket: the 413 must still reach the client.
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => (wrongType ? reject(wrongType) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/** `self` with its skip/take set (other query parameters kept). */
function pageLink(self: string, skip: number, take: number): string {
  const [path, query] = self.split('?') as [string, string | undefined];
  const q = new URLSearchParams(query ?? '');
  q.set('skip', String(skip));
  q.set('take', String(take));
  return `${path}?${q.toString()}`;
}

function collection(itemType: string, items: unknown[], self: string, skip: number, take: number): Json {
  const page = items.slice(skip, skip + take);
  return {
    ItemType: itemType,
    TotalResults: items.length,
    ItemsPerPage: take,
    NumberOfPages: Math.max(1, Math.ceil(items.length / take)),
    LastPageNumber: Math.max(0, Math.ceil(items.length / take) - 1),
    Items: page,
    Links: {
      Self: self, 'Page.All': `${self.split('?')[0]}?skip=0&take=2147483647`, 'Page.Current': self,
      ...(skip + take < items.length ? { 'Page.Next': pageLink(self, skip + take, take) } : {}),
    },
  };
}

const MAX_CHARS = CLUSTER_DEFAULTS.restMaxFieldChars;
const MAX_ITEMS = CLUSTER_DEFAULTS.restMaxArrayItems;
/** Most problems listed in one 400 answer. */
const MAX_ERRORS = 20;
const tooLong = `longer than ${MAX_CHARS} characters.`;

/** A machine registration body (the fields pollfleet reads; others are ignored). */
function machineBodySchema(knownEnvironmentIds: readonly string[]) {
  const known = `known: ${knownEnvironmentIds.join(', ')}`;
  const nonEmpty = 'expected a non-empty string.';
  const envIds = 'expected a non-empty array of environment ids.';
  const roles = 'expected an array of strings.';
  const thumbprint = 'expected the Tentacle certificate thumbprint, 40 hex characters.';
  const uri = 'expected the subscription URI, poll://<subscription id>/.';
  return z.object({
    Name: z.string(nonEmpty).max(MAX_CHARS, tooLong).refine((s) => s.trim() !== '', nonEmpty),
    EnvironmentIds: z
      .array(z.unknown(), envIds)
      .min(1, envIds)
      .max(MAX_ITEMS, `expected at most ${MAX_ITEMS} environment ids.`)
      .superRefine((ids, ctx) => {
        for (const id of ids) {
          if (typeof id !== 'string' || !knownEnvironmentIds.includes(id)) {
            ctx.addIssue({ code: 'custom', message: `unknown environment ${describe(id)} (${known}).` });
          }
        }
      }),
    Roles: z.array(z.string(roles).max(MAX_CHARS, tooLong), roles).max(MAX_ITEMS, `expected at most ${MAX_ITEMS} roles.`),
    // A polling Tentacle (TentacleActive: Thumbprint and Uri on the endpoint) or a Kubernetes agent in
    // polling mode (KubernetesTentacle: them inside TentacleEndpointConfiguration, as OctopusClients'
    // KubernetesTentacleEndpointResource). Each wrong field is named on its own.
    Endpoint: z
      .object({
        CommunicationStyle: z.unknown().superRefine((v, ctx) => {
          if (v !== 'TentacleActive' && v !== 'KubernetesTentacle') {
            ctx.addIssue({ code: 'custom', message: `expected "TentacleActive" (a polling Tentacle) or "KubernetesTentacle" (a Kubernetes agent), got ${describe(v ?? null)}.` });
          }
        }),
        Thumbprint: z.unknown().optional(),
        Uri: z.unknown().optional(),
        TentacleEndpointConfiguration: z.unknown().optional(),
      }, 'expected an object with CommunicationStyle, Thumbprint and Uri.')
      .superRefine((e, ctx) => {
        const k8s = e.CommunicationStyle === 'KubernetesTentacle';
        const at = k8s ? ['TentacleEndpointConfiguration'] : [];
        const inner = k8s ? e.TentacleEndpointConfiguration : e;
        if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
          ctx.addIssue({ code: 'custom', path: at, message: 'expected an object with CommunicationMode "Polling", Thumbprint and Uri (a Kubernetes agent).' });
          return;
        }
        const o = inner as Record<string, unknown>;
        if (k8s && o['CommunicationMode'] !== 'Polling') ctx.addIssue({ code: 'custom', path: [...at, 'CommunicationMode'], message: 'expected "Polling" (pollfleet simulates polling agents).' });
        if (!z.string().regex(/^[0-9a-fA-F]{40}$/).safeParse(o['Thumbprint']).success) ctx.addIssue({ code: 'custom', path: [...at, 'Thumbprint'], message: thumbprint });
        if (!z.string().max(MAX_CHARS).refine(isSubscriptionId).safeParse(o['Uri']).success) ctx.addIssue({ code: 'custom', path: [...at, 'Uri'], message: uri });
      }),
  }, 'The request body must be a JSON object.');
}

/** A request value quoted in an error message: short strings and scalars as JSON, anything else by its type (never echoed whole). */
function describe(v: unknown): string {
  if (typeof v === 'string') return v.length <= 64 ? JSON.stringify(v) : `a string of ${v.length} characters`;
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

/** Check a machine registration body; returns every problem, each naming its field. */
export function validateMachineBody(body: unknown, knownEnvironmentIds: readonly string[]): string[] {
  const r = machineBodySchema(knownEnvironmentIds).safeParse(body);
  if (r.success) return [];
  const messages = r.error.issues.map((i) => {
    const field = i.path.filter((p) => typeof p === 'string').join('.');
    return field ? `${field}: ${i.message}` : i.message;
  });
  // An array of many bad elements gives one message per element: answer each distinct one once, and a bounded number.
  return [...new Set(messages)].slice(0, MAX_ERRORS);
}

export class RestApi {
  readonly #o: RestApiOptions;
  readonly #server: http.Server;
  readonly #keyDigest: Buffer;
  readonly #installationId: string;
  readonly #limiter: RestApiRateLimiter | null;
  #port = 0;
  #closed: Promise<void> | null = null;

  constructor(o: RestApiOptions) {
    this.#o = o;
    this.#keyDigest = digest(o.apiKey);
    this.#installationId = o.installationId ?? randomUUID();
    this.#limiter = o.rateLimit ? new RestApiRateLimiter(o.rateLimit) : null;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      // Which node answered: lets API load through a balancer show how requests spread.
      res.setHeader(NODE_HEADER, this.#o.nodeName);
      const wait = this.#limiter && !(req.url ?? '').toLowerCase().startsWith(PING_PATH) ? this.#limiter.take() : null;
      if (wait !== null) return sendTooManyRequests(res, wait);
      this.#handle(req, res).catch((e: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (e instanceof HttpError) sendError(res, e);
        else send(res, 500, { ErrorMessage: 'The node could not handle the request.', Errors: [] });
      });
    };
    this.#server = o.httpsCertificate
      ? https.createServer({
        cert: o.httpsCertificate.certPem, key: o.httpsCertificate.keyPem, minVersion: 'TLSv1.2',
        ...(o.upgrade ? { requestCert: true, rejectUnauthorized: false } : {}),
      }, handler)
      : http.createServer(handler);
    this.#server.requestTimeout = CLUSTER_DEFAULTS.restRequestTimeoutMs;
    this.#server.headersTimeout = Math.min(this.#server.headersTimeout, CLUSTER_DEFAULTS.restRequestTimeoutMs);
    // Node's parser refuses malformed requests itself; answer those in the same JSON form.
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(clientErrorResponse(status, status === 431 ? 'The request headers are too large.' : status === 408 ? 'The request took too long to arrive.' : 'The request is not valid HTTP.'), () => socket.destroy());
    });
    // CONNECT bypasses the request handler; unanswered, Node drops the socket silently.
    this.#server.on('connect', (req: http.IncomingMessage, socket: Duplex) => {
      socket.on('error', () => socket.destroy());
      // The socket is detached from the server: close it once the answer is out, or a server close would wait on it.
      socket.end(clientErrorResponse(405, `${req.method ?? 'CONNECT'} is not supported.`), () => socket.destroy());
    });
    if (o.upgrade) this.#server.on('upgrade', o.upgrade);
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.#server.once('error', onError);
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off('error', onError);
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve(this.#port);
      });
    });
  }

  get port(): number {
    return this.#port;
  }

  /** Stop accepting; idle keep-alive connections close now, busy ones after their response (or after `timeoutMs`). */
  close(timeoutMs: number): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (!this.#server.listening) return resolve();
      const timer = setTimeout(() => this.#server.closeAllConnections(), timeoutMs);
      this.#server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#server.closeIdleConnections();
    });
    return this.#closed;
  }

  /** Close every connection at once. */
  destroy(): void {
    void this.close(0);
    this.#server.closeAllConnections();
  }

  #authorised(req: http.IncomingMessage, url: URL): boolean {
    const header = req.headers[API_KEY_HEADER];
    const given = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('apikey');
    if (!given) return false;
    return timingSafeEqual(digest(given), this.#keyDigest);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://node.invalid');
    } catch {
      throw new HttpError(400, 'The request URL is not valid.');
    }
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const lower = path.toLowerCase();
    const method = req.method ?? 'GET';

    if (lower === PING_PATH && method === 'GET') {
      const draining = this.#o.isDraining();
      return send(res, draining ? 418 : 200, {
        Name: this.#o.nodeName,
        IsOnline: true,
        IsDraining: draining,
        IsInMaintenanceMode: false,
      });
    }
    if (this.#o.webSocketPage?.(req, res)) return;
    const segs = lower.split('/').filter(Boolean);
    const raw = path.split('/').filter(Boolean);
    if (segs[0] !== 'api') throw new HttpError(404, `There is no resource at ${path}.`);
    if (!this.#authorised(req, url)) {
      throw new HttpError(401, 'You must be logged in to perform this action. Please provide a valid API key (X-Octopus-ApiKey header).');
    }
    const notFound = () => new HttpError(404, `There is no resource at ${path}.`);
    const only = (m: string) => {
      if (method !== m) throw new HttpError(405, `${method} is not supported on ${path}.`);
    };
    const space = this.#o.spaceId;
    const isSpace = (s: string | undefined) => s !== undefined && s === space.toLowerCase();
    if (this.#o.tasks && (await handleTaskRoute({ tasks: this.#o.tasks, registry: this.#o.registry, spaceId: space, segs, raw, method, req, res, readBody }))) return;

    if (segs.length === 1) {
      only('GET');
      return send(res, 200, this.#root());
    }
    if (lower === CERTIFICATE_PATH) {
      only('GET');
      return send(res, 200, {
        Id: 'certificate-global',
        Name: 'Octopus Portal',
        Thumbprint: this.#o.serverThumbprint,
        Links: { Self: CERTIFICATE_PATH },
      });
    }
    if (segs[1] === 'serverstatus' && segs[2] === 'redis' && segs.length === 3) {
      only('GET');
      return send(res, 200, this.#o.redisStatus ?? { IsEnabled: false, IsConfigured: false, IsReachable: false });
    }
    if (segs[1] === 'users' && segs[2] === 'me' && segs.length === 3) {
      only('GET');
      return send(res, 200, {
        Id: 'Users-1', Username: 'pollfleet', DisplayName: 'pollfleet', IsService: true, IsActive: true,
        Links: { Self: '/api/users/Users-1', Spaces: '/api/users/Users-1/spaces' },
      });
    }
    if (segs[1] === 'users' && segs[2] === 'users-1' && segs[3] === 'spaces' && segs.length === 4) {
      only('GET');
      // The spaces this user may see: a bare array, as Octopus answers /api/users/{id}/spaces.
      return send(res, 200, [this.#space()]);
    }
    if (segs[1] === 'octopusservernodes') {
      const a = serverNodesAnswer(method, segs, url, this.#o.serverNodes?.() ?? [{ name: this.#o.nodeName, isDraining: this.#o.isDraining(), isOnline: true }]);
      return send(res, a.status, a.body);
    }
    if (segs[1] === 'spaces') {
      only('GET');
      if (segs.length === 2) return send(res, 200, collection('Space', [this.#space()], path, 0, 30));
      if (segs.length === 3 && isSpace(segs[2])) return send(res, 200, this.#space());
      throw notFound();
    }
    if (isSpace(segs[1])) {
      if (segs.length === 2) {
        only('GET');
        return send(res, 200, { Application: 'Octopus Deploy', Version: this.#version(), Links: this.#spaceLinks() });
      }
      if (segs[2] === 'environments' && (segs.length === 3 || (segs.length === 4 && segs[3] === 'all'))) {
        only('GET');
        const name = url.searchParams.get('name');
        const envs = ENVIRONMENTS.filter((e) => !name || e.Name.toLowerCase() === name.toLowerCase()).map((e) => this.#environment(e));
        const { skip, take } = this.#page(url);
        return send(res, 200, segs.length === 4 ? envs : collection('Environment', envs, path + url.search, skip, take));
      }
      if (segs[2] === 'environments' && segs.length === 4) {
        only('GET');
        const e = ENVIRONMENTS.find((x) => x.Id.toLowerCase() === segs[3]);
        if (!e) throw notFound();
        return send(res, 200, this.#environment(e));
      }
      if (segs[2] === 'machines' && segs.length === 3) {
        if (method === 'POST') return this.#createMachine(req, res);
        only('GET');
        return this.#listMachines(url, path, res);
      }
      if (segs[2] === 'machines' && segs.length === 4) {
        const m = this.#o.registry.get(space, raw[3]!) ?? this.#o.registry.list(space).find((x) => x.id.toLowerCase() === segs[3]);
        if (!m) throw new HttpError(404, `The machine ${raw[3]} was not found in ${space}.`);
        if (method === 'PUT') return this.#replaceMachine(req, res, m);
        if (method === 'DELETE') {
          await this.#o.registry.delete(space, m.id);
          res.writeHead(200, { 'Content-Length': 0 });
          return void res.end();
        }
        only('GET');
        return send(res, 200, this.#machine(m));
      }
    }
    throw notFound();
  }

  /** skip/take of a collection request; `take` defaults to the node's page size. */
  #page(url: URL): { skip: number; take: number } {
    const size = this.#o.pageSize ?? 30;
    return {
      skip: Math.max(0, Number(url.searchParams.get('skip') ?? 0) || 0),
      take: Math.max(1, Number(url.searchParams.get('take') ?? size) || size),
    };
  }

  /**
   * PUT /api/{space}/machines/{id} (register-with --force: Octopus.Client's Machines.Modify).
   * The registry has no update, so the record is replaced (the answer names the new Id; a
   * real server keeps the Id).
   */
  async #replaceMachine(req: http.IncomingMessage, res: http.ServerResponse, old: Machine): Promise<void> {
    const m = await this.#machineFromBody(req);
    if (m.name.toLowerCase() !== old.name.toLowerCase()) {
      throw new HttpError(400, 'There was a problem with your request.', [`Name: expected ${JSON.stringify(old.name)}, the machine being replaced.`]);
    }
    await this.#o.registry.delete(this.#o.spaceId, old.id);
    let machine: Machine;
    try {
      machine = await this.#o.registry.register(m);
    } catch (e) {
      throw new HttpError(400, 'There was a problem with your request.', [(e as Error).message]);
    }
    send(res, 200, this.#machine(machine));
  }

  async #machineFromBody(req: http.IncomingMessage): Promise<NewMachine> {
    const text = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'There was a problem with your request.', ['The request body is not valid JSON.']);
    }
    const errors = validateMachineBody(body, ENVIRONMENTS.map((e) => e.Id));
    if (errors.length > 0) throw new HttpError(400, 'There was a problem with your request.', errors);
    type Ends = { CommunicationStyle: 'TentacleActive' | 'KubernetesTentacle'; Thumbprint?: string; Uri?: string; TentacleEndpointConfiguration?: { Thumbprint: string; Uri: string } };
    const b = body as { Name: string; EnvironmentIds: string[]; Roles: string[]; Endpoint: Ends };
    const end = (b.Endpoint.CommunicationStyle === 'KubernetesTentacle' ? b.Endpoint.TentacleEndpointConfiguration : b.Endpoint) as { Thumbprint: string; Uri: string };
    const m: NewMachine = {
      name: b.Name.trim(),
      spaceId: this.#o.spaceId,
      environmentIds: b.EnvironmentIds,
      roles: b.Roles,
      thumbprint: end.Thumbprint.toUpperCase(),
      subscriptionId: end.Uri,
      ...(b.Endpoint.CommunicationStyle === 'KubernetesTentacle' ? { communicationStyle: 'KubernetesTentacle' as const } : {}),
    };
    return m;
  }

  async #createMachine(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const m = await this.#machineFromBody(req);
    let machine: Machine;
    try {
      machine = await this.#o.registry.register(m);
    } catch (e) {
      throw new HttpError(400, 'There was a problem with your request.', [(e as Error).message]);
    }
    send(res, 201, this.#machine(machine));
  }

  #listMachines(url: URL, path: string, res: http.ServerResponse): void {
    const name = url.searchParams.get('name');
    const partial = url.searchParams.get('partialName');
    const thumbprint = url.searchParams.get('thumbprint');
    const { skip, take } = this.#page(url);
    const items = this.#o.registry
      .list(this.#o.spaceId)
      .filter((m) => !name || m.name.toLowerCase() === name.toLowerCase())
      .filter((m) => !partial || m.name.toLowerCase().includes(partial.toLowerCase()))
      .filter((m) => !thumbprint || m.thumbprint === thumbprint.toUpperCase())
      .map((m) => this.#machine(m));
    send(res, 200, collection('Machine', items, path + url.search, skip, take));
  }

  #version(): string {
    return this.#o.version ?? DEFAULT_OCTOPUS_VERSION;
  }

  #root(): Json {
    const s = this.#o.spaceId;
    return {
      Application: 'Octopus Deploy',
      Version: this.#version(),
      ApiVersion: API_VERSION,
      InstallationId: this.#installationId,
      Links: {
        Self: '/api',
        Spaces: '/api/spaces{/id}{?skip,ids,take,partialName}',
        Machines: `/api/${s}/machines{/id}{?skip,take,name,ids,partialName,thumbprint}`,
        Environments: `/api/${s}/environments{/id}{?name,skip,ids,take,partialName}`,
        CurrentUser: '/api/users/me',
        ServerStatus: '/api/serverstatus',
        RedisStatus: '/api/serverstatus/redis',
        OctopusServerNodes: '/api/octopusservernodes{/id}{?skip,take,ids,partialName}',
        Ping: PING_PATH,
        Certificate: CERTIFICATE_PATH,
      },
    };
  }

  #spaceLinks(): Json {
    const s = this.#o.spaceId;
    return {
      Self: `/api/${s}`,
      Machines: `/api/${s}/machines{/id}{?skip,take,name,ids,partialName,thumbprint}`,
      Environments: `/api/${s}/environments{/id}{?name,skip,ids,take,partialName}`,
    };
  }

  #space(): Json {
    const s = this.#o.spaceId;
    return { Id: s, Name: 'Default', Slug: 'default', IsDefault: true, TaskQueueStopped: false, Links: { Self: `/api/spaces/${s}`, SpaceHome: `/api/${s}` } };
  }

  #environment(e: { Id: string; Name: string }): Json {
    return { Id: e.Id, Name: e.Name, SpaceId: this.#o.spaceId, Links: { Self: `/api/${this.#o.spaceId}/environments/${e.Id}` } };
  }

  #machine(m: Machine): Json {
    return {
      Id: m.id,
      Name: m.name,
      Thumbprint: m.thumbprint,
      Uri: m.subscriptionId,
      IsDisabled: false,
      EnvironmentIds: m.environmentIds,
      Roles: m.roles,
      MachinePolicyId: 'MachinePolicies-1',
      TenantedDeploymentParticipation: 'Untenanted',
      TenantIds: [],
      TenantTags: [],
      Status: 'Unknown',
      HealthStatus: 'Unknown',
      SpaceId: m.spaceId,
      Endpoint:
        m.communicationStyle === 'KubernetesTentacle'
          ? { CommunicationStyle: 'KubernetesTentacle', TentacleEndpointConfiguration: { CommunicationMode: 'Polling', Thumbprint: m.thumbprint, Uri: m.subscriptionId } }
          : { CommunicationStyle: 'TentacleActive', Thumbprint: m.thumbprint, Uri: m.subscriptionId },
      Links: { Self: `/api/${m.spaceId}/machines/${m.id}` },
    };
  }
}
