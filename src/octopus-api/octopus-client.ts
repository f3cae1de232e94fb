import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { now } from '../core/clock.js';
import { PollfleetError, errorDataOf, errorKindOf, type ErrorKind } from '../core/errors.js';
import { PING_PATH, REGISTRATION_DEFAULTS } from '../scenario/defaults.js';
import { apiBaseUrl } from './api-base-url.js';
import {
  API_KEY_HEADER,
  CURRENT_USER_PATH,
  REDIS_STATUS_PATH,
  ROOT_PATH,
  SERVER_CERTIFICATE_PATH,
  SERVER_NODES_PATH,
  SPACES_PATH,
  environmentsPath,
  machinePath,
  machinesPath,
  userSpacesPath,
} from './api-paths.js';
import { itemsOf, type NewPollingMachine, type OctopusServerNodeResource, type RedisStatus, type Resource, type RootDocument } from './octopus-resources.js';
import { retryAfterMs } from './retry-after.js';
import { scrubSecret } from './scrub-secret.js';

export interface OctopusClientOptions {
  /** e.g. `https://octopus.example.com` (with or without a trailing `/`). A bad URL is `input.invalid`. */
  apiUrl: string;
  /** A secret: sent in the X-Octopus-ApiKey header only, scrubbed from every message. None: no header. */
  apiKey?: string | null;
  /** Shared by many calls (one Agent for thousands of tentacles); undici's global one otherwise. */
  dispatcher?: Dispatcher;
  /** Headers and body of each call must arrive within this (REGISTRATION_DEFAULTS.requestTimeoutMs). */
  timeoutMs?: number;
  /** The kind of an error answer other than 401/403 (`api.error` unless the caller is registering). */
  failureKind?: ErrorKind;
  /** Aborts a wait for a throttled call (HTTP 429); the call then rejects with this signal's reason. */
  signal?: AbortSignal;
  /** Called after each HTTP 429, with the wait about to start. */
  onThrottle?: (waitMs: number, step: string) => void;
}

/** HTTP 429 answers a client waited out (Retry-After), and how long it waited in all. */
export interface ThrottleCount {
  throttled: number;
  throttledWaitMs: number;
}

/** An answer as it came, whatever its status (for checks that judge the status themselves). */
export interface ApiAnswer {
  status: number;
  /** The body as text. */
  text: string;
  durationMs: number;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

function serverMessage(body: unknown): string {
  if (body === null || typeof body !== 'object') return '';
  const b = body as Resource;
  const parts: string[] = [];
  if (typeof b['ErrorMessage'] === 'string' && b['ErrorMessage']) parts.push(b['ErrorMessage']);
  if (Array.isArray(b['Errors'])) parts.push(...b['Errors'].filter((x): x is string => typeof x === 'string'));
  return parts.join('; ');
}

/**
 * The Octopus Server REST API (undici): one base URL, one key, one dispatcher, one timeout.
 * Typed methods for what pollfleet reads and writes: the root document, spaces, the server
 * certificate, environments, machines, a node's ping and the Redis status.
 *
 * Errors are PollfleetErrors with the HTTP `status` as a field (`api.unauthorized` for 401
 * and 403, `failureKind` otherwise), and the step, method and URL in the message; the API
 * key never appears in one. `answer()` (and `ping()`, `redisStatus()`) return any status
 * as it came, for checks that judge it; only a failed request (no answer) rejects there,
 * with the transport's own error (classify it with errorKindOf).
 */
export class OctopusClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly #apiKey: string | null;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #failureKind: ErrorKind;
  readonly #signal: AbortSignal | undefined;
  readonly #onThrottle: ((waitMs: number, step: string) => void) | undefined;
  /** HTTP 429 answers waited out so far (each followed by a retry) and the time spent waiting. */
  readonly throttle: ThrottleCount = { throttled: 0, throttledWaitMs: 0 };

  constructor(o: OctopusClientOptions) {
    this.baseUrl = apiBaseUrl(o.apiUrl);
    this.timeoutMs = o.timeoutMs ?? REGISTRATION_DEFAULTS.requestTimeoutMs;
    this.#apiKey = o.apiKey ?? null;
    this.#dispatcher = o.dispatcher;
    this.#failureKind = o.failureKind ?? 'api.error';
    this.#signal = o.signal;
    this.#onThrottle = o.onThrottle;
  }

  url(path: string): string {
    return this.baseUrl + path;
  }

  /** Text that is about to leave, without the key. */
  scrub(text: string): string {
    return scrubSecret(text, this.#apiKey);
  }

  #send(method: HttpMethod, path: string, body?: unknown): Promise<Dispatcher.ResponseData> {
    return request(this.url(path), {
      method,
      headers: {
        ...(this.#apiKey ? { [API_KEY_HEADER]: this.#apiKey } : {}),
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
  }

  /** The body as text, refused (and the connection closed) past REGISTRATION_DEFAULTS.maxResponseBytes. */
  async #text(res: Dispatcher.ResponseData, method: HttpMethod, path: string): Promise<string> {
    const max = REGISTRATION_DEFAULTS.maxResponseBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) {
        res.body.destroy();
        throw new PollfleetError(this.#failureKind, this.scrub(`${method} ${this.url(path)} answered with more than ${max / 1024 / 1024} MiB (HTTP ${res.statusCode}): not an Octopus REST API answer`), {
          status: res.statusCode,
          address: this.url(path),
        });
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size).toString('utf8');
  }

  /** GET `path` and return the answer whatever its status. Rejects (with the transport's error) only when there is none. */
  async answer(path: string): Promise<ApiAnswer> {
    const t0 = now();
    const res = await this.#send('GET', path);
    const text = await this.#text(res, 'GET', path);
    return { status: res.statusCode, text, durationMs: Math.round(now() - t0) };
  }

  /**
   * One call that must succeed: the parsed JSON body (null when empty). `step` names it in
   * messages (`root document: GET https://... returned HTTP 500: ...`); an empty step leaves
   * the prefix out.
   */
  async call(step: string, method: HttpMethod, path: string, body?: unknown): Promise<unknown> {
    const url = this.url(path);
    const prefix = step ? `${step}: ` : '';
    let res: Dispatcher.ResponseData;
    let waits = 0;
    for (;;) {
      try {
        res = await this.#send(method, path, body);
      } catch (e) {
        const kind = errorKindOf(e);
        throw new PollfleetError(this.#failureKind, this.scrub(`${prefix}${method} ${url} failed (${kind}): ${(e as Error).message}`), {
          // A proxy that refused the tunnel says so in its data (status, proxy).
          ...errorDataOf(e),
          cause: e,
          address: url,
        });
      }
      // Octopus Server 2026.3+ rate-limits its REST API ([H] section 8): a 429 is "wait as
      // Retry-After says and ask again" -- counted (this.throttle), never a failure of the
      // server. Only after throttleMaxRetries waits does the call fail, naming the throttling.
      if (res.statusCode !== 429 || waits >= REGISTRATION_DEFAULTS.throttleMaxRetries) break;
      await res.body.dump();
      const asked = retryAfterMs(res.headers['retry-after']);
      const waitMs = Math.min(asked ?? REGISTRATION_DEFAULTS.throttleDefaultWaitMs, REGISTRATION_DEFAULTS.throttleMaxWaitMs);
      waits++;
      this.throttle.throttled++;
      this.throttle.throttledWaitMs += waitMs;
      this.#onThrottle?.(waitMs, step);
      await sleep(waitMs, undefined, this.#signal ? { signal: this.#signal } : undefined);
    }
    const status = res.statusCode;
    const text = await this.#text(res, method, path);
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (status >= 200 && status < 300) {
      if (text && parsed === null) {
        throw new PollfleetError(this.#failureKind, this.scrub(`${prefix}${method} ${url} returned HTTP ${status} but not JSON`), { status, address: url });
      }
      return parsed;
    }
    const detail = serverMessage(parsed) || text.slice(0, 200).trim();
    const message = this.scrub(`${prefix}${method} ${url} returned HTTP ${status}${detail ? `: ${detail}` : ''}`);
    if (status === 429) {
      throw new PollfleetError(this.#failureKind, `${message} (still throttled after ${waits} waits, ${Math.round(this.throttle.throttledWaitMs / 1000)} s in all)`, {
        status, address: url, hint: 'the server rate-limits its REST API: lower external.register.ratePerSecond or fleet.registrationConcurrency',
      });
    }
    if (status === 401 || status === 403) {
      throw new PollfleetError('api.unauthorized', message, { status, address: url, hint: 'check the API key and that its user may register machines' });
    }
    throw new PollfleetError(this.#failureKind, message, { status, address: url });
  }

  /** `GET /api`: the root document. */
  async rootDocument(step = 'root document'): Promise<RootDocument> {
    return ((await this.call(step, 'GET', ROOT_PATH)) ?? {}) as RootDocument;
  }

  /** Every space. */
  async spaces(step = 'spaces'): Promise<Resource[]> {
    return itemsOf(await this.call(step, 'GET', SPACES_PATH));
  }

  /** The server certificate's thumbprint (`registration.failed`-style error when absent). */
  async serverThumbprint(step = 'server certificate'): Promise<string> {
    const doc = (await this.call(step, 'GET', SERVER_CERTIFICATE_PATH)) as Resource | null;
    const t = doc?.['Thumbprint'];
    if (typeof t !== 'string' || t === '') {
      throw new PollfleetError(this.#failureKind, `${step}: ${SERVER_CERTIFICATE_PATH} returned no Thumbprint`);
    }
    return t;
  }

  /** Every environment of the space, every page of them. */
  async environments(spaceId: string, step = 'environments'): Promise<Resource[]> {
    return this.allPages(step, environmentsPath(spaceId));
  }

  /** Register a polling machine; its id. */
  async createMachine(spaceId: string, machine: NewPollingMachine, step = 'register machine'): Promise<string> {
    const created = (await this.call(step, 'POST', machinesPath(spaceId), machine)) as Resource | null;
    const id = created?.['Id'];
    if (typeof id !== 'string') throw new PollfleetError(this.#failureKind, `${step}: the server answered without an Id`);
    return id;
  }

  /** Machines whose name matches `name` (the server's partial match; callers compare exactly). */
  async machinesNamed(spaceId: string, name: string, step = ''): Promise<Resource[]> {
    return itemsOf(await this.call(step, 'GET', `${machinesPath(spaceId)}?name=${encodeURIComponent(name)}`));
  }

  /** Delete a machine; a machine that is not there is an error with status 404. */
  async deleteMachine(spaceId: string, machineId: string, step = 'delete machine'): Promise<void> {
    await this.call(step, 'DELETE', machinePath(spaceId, machineId));
  }

  /**
   * The spaces of the key's own user, as register-with reads them (Octopus.Client resolves the
   * default space from the current user: GET /api/users/me, then its Links.Spaces). A server
   * without that link or route (404) falls back to every space (/api/spaces).
   */
  async currentUserSpaces(step = 'spaces'): Promise<Resource[]> {
    let me: Resource | null;
    try {
      me = (await this.call('current user', 'GET', CURRENT_USER_PATH)) as Resource | null;
    } catch (e) {
      if (e instanceof PollfleetError && e.status === 404) return this.spaces(step);
      throw e;
    }
    const link = (me?.['Links'] as Resource | undefined)?.['Spaces'];
    const id = me?.['Id'];
    const path = typeof link === 'string' ? this.#localPath(link) : typeof id === 'string' ? userSpacesPath(id) : null;
    if (path === null) return this.spaces(step);
    try {
      return itemsOf(await this.call(step, 'GET', path));
    } catch (e) {
      if (e instanceof PollfleetError && e.status === 404) return this.spaces(step);
      throw e;
    }
  }

  /**
   * Every item of a paged collection: follows `Links["Page.Next"]` (as Octopus.Client's
   * Paginate does), or, without the link, asks for `skip=<read so far>` while fewer than
   * `TotalResults` were read. Bounded by REGISTRATION_DEFAULTS.maxPages.
   */
  async allPages(step: string, path: string): Promise<Resource[]> {
    const out: Resource[] = [];
    const seen = new Set<string>();
    let next: string | null = path;
    for (let page = 0; next !== null && page < REGISTRATION_DEFAULTS.maxPages && !seen.has(next); page++) {
      seen.add(next);
      const doc = (await this.call(step, 'GET', next)) as Resource | null;
      const items = itemsOf(doc);
      for (const item of items) out.push(item); // a page of any size (a spread of 100,000+ throws)
      next = null;
      const link = (doc?.['Links'] as Resource | undefined)?.['Page.Next'];
      const total = doc?.['TotalResults'];
      if (typeof link === 'string' && link !== '') next = this.#localPath(link);
      else if (!Array.isArray(doc) && typeof total === 'number' && out.length < total && items.length > 0) {
        const base = path.split('?')[0]!;
        const q = new URLSearchParams(path.includes('?') ? path.slice(path.indexOf('?') + 1) : '');
        q.set('skip', String(out.length));
        q.set('take', String(items.length));
        next = `${base}?${q.toString()}`;
      }
    }
    return out;
  }

  /** A link from a document as a path under baseUrl (URI templates cut off; a virtual directory in the link is not doubled). */
  #localPath(link: string): string {
    let p = link.replace(/\{[^}]*\}/g, '');
    if (/^https?:\/\//i.test(p)) {
      const u = new URL(p);
      p = u.pathname + u.search;
    }
    const prefix = new URL(this.baseUrl).pathname.replace(/\/+$/, '');
    if (prefix && p.toLowerCase().startsWith(prefix.toLowerCase() + '/')) p = p.slice(prefix.length);
    return p.startsWith('/') ? p : `/${p}`;
  }

  /** Replace an existing machine (register-with --force: Octopus.Client's Machines.Modify, a PUT); its id. */
  async modifyMachine(spaceId: string, machineId: string, machine: NewPollingMachine, step = 'replace machine'): Promise<string> {
    const updated = (await this.call(step, 'PUT', machinePath(spaceId, machineId), { Id: machineId, ...machine })) as Resource | null;
    const id = updated?.['Id'];
    return typeof id === 'string' ? id : machineId;
  }

  /** A node's health endpoint, no key needed: 200 online, 418 draining, anything else offline. */
  ping(): Promise<ApiAnswer> {
    return this.answer(PING_PATH);
  }

  /** Multi-node polling's Redis status; `redis` is the parsed body of a 200 answer (a body that is not JSON rejects). */
  async redisStatus(): Promise<ApiAnswer & { redis: RedisStatus | null }> {
    const a = await this.answer(REDIS_STATUS_PATH);
    return { ...a, redis: a.status === 200 ? (JSON.parse(a.text) as RedisStatus) : null };
  }

  // --- server nodes (preflight drift) ---

  /**
   * Every server node of the cluster (`GET /api/octopusservernodes`, all pages: `skip`/`take`
   * until `TotalResults` are read, at most 100 pages).
   */
  async serverNodes(step = 'server nodes'): Promise<OctopusServerNodeResource[]> {
    const pageSize = 30; // Octopus's own default page size
    const maxPages = 100; // a bound: 3,000 nodes
    const out: OctopusServerNodeResource[] = [];
    for (let page = 0; page < maxPages; page++) {
      const doc = (await this.call(step, 'GET', `${SERVER_NODES_PATH}?skip=${out.length}&take=${pageSize}`)) as Resource | null;
      const items = itemsOf(doc) as OctopusServerNodeResource[];
      for (const item of items) out.push(item); // a page of any size (a spread of 100,000+ throws)
      const total = typeof doc?.['TotalResults'] === 'number' ? doc['TotalResults'] : out.length;
      if (items.length === 0 || out.length >= total || Array.isArray(doc)) break;
    }
    return out;
  }
}
