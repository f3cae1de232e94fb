import { request, type Dispatcher } from 'undici';
import { now } from '../core/clock.js';
import { PollfleetError, errorDataOf, errorKindOf, type ErrorKind } from '../core/errors.js';
import { PING_PATH, REGISTRATION_DEFAULTS } from '../scenario/defaults.js';
import { apiBaseUrl } from './api-base-url.js';
import {
  API_KEY_HEADER,
  REDIS_STATUS_PATH,
  ROOT_PATH,
  SERVER_CERTIFICATE_PATH,
  SPACES_PATH,
  environmentsPath,
  machinePath,
  machinesPath,
} from './api-paths.js';
import { itemsOf, type NewPollingMachine, type RedisStatus, type Resource, type RootDocument } from './octopus-resources.js';
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
}

/** An answer as it came, whatever its status (for checks that judge the status themselves). */
export interface ApiAnswer {
  status: number;
  /** The body as text. */
  text: string;
  durationMs: number;
}

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

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

  constructor(o: OctopusClientOptions) {
    this.baseUrl = apiBaseUrl(o.apiUrl);
    this.timeoutMs = o.timeoutMs ?? REGISTRATION_DEFAULTS.requestTimeoutMs;
    this.#apiKey = o.apiKey ?? null;
    this.#dispatcher = o.dispatcher;
    this.#failureKind = o.failureKind ?? 'api.error';
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

  /** GET `path` and return the answer whatever its status. Rejects (with the transport's error) only when there is none. */
  async answer(path: string): Promise<ApiAnswer> {
    const t0 = now();
    const res = await this.#send('GET', path);
    const text = await res.body.text();
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
    const status = res.statusCode;
    const text = await res.body.text();
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

  async environments(spaceId: string, step = 'environments'): Promise<Resource[]> {
    return itemsOf(await this.call(step, 'GET', environmentsPath(spaceId)));
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

  /** A node's health endpoint, no key needed: 200 online, 418 draining, anything else offline. */
  ping(): Promise<ApiAnswer> {
    return this.answer(PING_PATH);
  }

  /** Multi-node polling's Redis status; `redis` is the parsed body of a 200 answer (a body that is not JSON rejects). */
  async redisStatus(): Promise<ApiAnswer & { redis: RedisStatus | null }> {
    const a = await this.answer(REDIS_STATUS_PATH);
    return { ...a, redis: a.status === 200 ? (JSON.parse(a.text) as RedisStatus) : null };
  }
}
