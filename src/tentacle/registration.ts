import { isIP } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { now } from '../core/clock.js';
import { PollfleetError, errorKindOf, type ErrorKind } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import { REGISTRATION_DEFAULTS } from '../scenario/defaults.js';

/**
 * `Tentacle register-with --comms-style TentacleActive` over the REST API ([H] section 8):
 * optional polling-port check (POST /handshake), root document, space, server
 * thumbprint, environments, then POST /api/{spaceId}/machines.
 *
 * The API key travels only in the X-Octopus-ApiKey header; it never appears in an error.
 */

/** Where the server certificate thumbprint is read. *Unconfirmed* in the reference. */
export const SERVER_CERTIFICATE_PATH = '/api/configuration/certificates/certificate-global';
export const API_KEY_HEADER = 'X-Octopus-ApiKey';
/** Root document `Version` major must be at least this. */
const MIN_API_MAJOR_VERSION = 3;

export interface PollingPortCheck {
  host: string;
  port: number;
}

export interface PortCheckOptions extends PollingPortCheck {
  /** Must not verify TLS (the node's certificate is self-signed); an insecure Agent is made when absent. */
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

export interface PortCheckResult {
  isOpen: boolean;
  status?: number;
  durationMs: number;
  errorKind?: ErrorKind;
  message?: string;
}

export interface RegistrationOptions {
  /** e.g. `https://octopus.example.com` (with or without a trailing `/`). */
  apiUrl: string;
  /** A secret: sent in a header only, never in an error or event. */
  apiKey: string;
  /** Space name or id (`Spaces-1`); the default space when absent. */
  space?: string;
  /** Machine name. */
  name: string;
  /** Environment names or ids (`Environments-1`). */
  environments: string[];
  roles: string[];
  /** The tentacle's certificate thumbprint. */
  thumbprint: string;
  /** poll://.../ */
  subscriptionId: string;
  machinePolicyId?: string;
  /** Check the polling port first, as register-with does. */
  pollingPort?: PollingPortCheck;
  /** Shared by many registrations (one Agent for thousands of tentacles); undici's global one otherwise. */
  dispatcher?: Dispatcher;
  /** For the polling-port check (must not verify TLS). */
  pollingDispatcher?: Dispatcher;
  timeoutMs?: number;
  /** When given, a 'registration' event is emitted for tentacle `tentacle`. */
  events?: { sink: EventSink; tentacle: number };
}

export interface RegistrationStep {
  name: string;
  durationMs: number;
}

export interface RegistrationResult {
  machineId: string;
  spaceId: string;
  serverThumbprint: string;
  durationMs: number;
  steps: RegistrationStep[];
}

export interface DeleteMachineOptions {
  apiUrl: string;
  apiKey: string;
  spaceId: string;
  machineId: string;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

type Json = Record<string, unknown>;

function baseUrl(apiUrl: string): string {
  let u: URL;
  try {
    u = new URL(apiUrl);
  } catch {
    throw new PollfleetError('input.invalid', `apiUrl ${JSON.stringify(apiUrl)} is not a URL (expected e.g. https://octopus.example.com)`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new PollfleetError('input.invalid', `apiUrl ${JSON.stringify(apiUrl)}: expected http:// or https://`);
  }
  return u.origin + u.pathname.replace(/\/+$/, '');
}

/** Remove the secret from any text that is about to leave (server messages may echo headers). */
function scrub(text: string, secret: string): string {
  return secret.length >= 4 ? text.split(secret).join('API-***') : text;
}

function serverMessage(body: unknown): string {
  if (body === null || typeof body !== 'object') return '';
  const b = body as Json;
  const parts: string[] = [];
  if (typeof b['ErrorMessage'] === 'string' && b['ErrorMessage']) parts.push(b['ErrorMessage']);
  if (Array.isArray(b['Errors'])) parts.push(...b['Errors'].filter((x): x is string => typeof x === 'string'));
  return parts.join('; ');
}

/** The REST client of one registration: one dispatcher, one key, one timeout. */
class Api {
  constructor(
    readonly base: string,
    readonly apiKey: string,
    readonly dispatcher: Dispatcher | undefined,
    readonly timeoutMs: number,
  ) {}

  async call(step: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const url = this.base + path;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        headers: {
          [API_KEY_HEADER]: this.apiKey,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (e) {
      const kind = errorKindOf(e);
      throw new PollfleetError(
        'registration.failed',
        scrub(`${step}: ${method} ${url} failed (${kind}): ${(e as Error).message}`, this.apiKey),
        { cause: e },
      );
    }
    const text = await res.body.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      if (text && parsed === null) {
        throw new PollfleetError('registration.failed', scrub(`${step}: ${method} ${url} returned HTTP ${res.statusCode} but not JSON`, this.apiKey));
      }
      return parsed;
    }
    const detail = serverMessage(parsed) || text.slice(0, 200).trim();
    const message = scrub(`${step}: ${method} ${url} returned HTTP ${res.statusCode}${detail ? `: ${detail}` : ''}`, this.apiKey);
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new PollfleetError('api.unauthorized', message, { hint: 'check the API key and that its user may register machines' });
    }
    throw new PollfleetError('registration.failed', message);
  }
}

function items(doc: unknown): Json[] {
  const list = Array.isArray(doc) ? doc : (doc as Json | null)?.['Items'];
  return Array.isArray(list) ? (list.filter((x) => x && typeof x === 'object') as Json[]) : [];
}

function nameOrId(x: Json): string {
  return `${String(x['Name'])} (${String(x['Id'])})`;
}

function apiMajorVersion(root: unknown): number {
  const v = (root as Json | null)?.['Version'];
  const major = typeof v === 'string' ? Number.parseInt(v, 10) : typeof v === 'number' ? Math.floor(v) : NaN;
  return Number.isFinite(major) ? major : NaN;
}

async function timed<T>(steps: RegistrationStep[], name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = now();
  const out = await fn();
  steps.push({ name, durationMs: now() - t0 });
  return out;
}

/**
 * Is the polling port open? `POST https://host:port/handshake` with no body and no client
 * certificate, TLS verification off; a node answers its handshake page (HTTP 200, or 400).
 */
export async function checkPollingPort(o: PortCheckOptions): Promise<PortCheckResult> {
  const t0 = now();
  const host = isIP(o.host) === 6 ? `[${o.host}]` : o.host;
  const url = `https://${host}:${o.port}/handshake`;
  const own = o.dispatcher ? null : new Agent({ connect: { rejectUnauthorized: false }, pipelining: 0 });
  const timeoutMs = o.timeoutMs ?? REGISTRATION_DEFAULTS.requestTimeoutMs;
  try {
    const res = await request(url, {
      method: 'POST',
      body: '',
      dispatcher: o.dispatcher ?? own!,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      reset: true,
    });
    await res.body.dump();
    const isOpen = res.statusCode === 200 || res.statusCode === 400;
    return {
      isOpen,
      status: res.statusCode,
      durationMs: now() - t0,
      ...(isOpen ? {} : { errorKind: 'registration.failed' as const, message: `${url} answered HTTP ${res.statusCode}, expected 200 (or 400)` }),
    };
  } catch (e) {
    return { isOpen: false, durationMs: now() - t0, errorKind: errorKindOf(e), message: `${url}: ${(e as Error).message}` };
  } finally {
    await own?.close();
  }
}

/** Register a polling tentacle (CommunicationStyle TentacleActive). Rejects with a PollfleetError. */
export async function registerTentacle(o: RegistrationOptions): Promise<RegistrationResult> {
  const t0 = now();
  try {
    const result = await register(o, t0);
    o.events?.sink({ type: 'registration', at: now(), tentacle: o.events.tentacle, ok: true, durationMs: result.durationMs, machineId: result.machineId });
    return result;
  } catch (e) {
    const err = e instanceof PollfleetError ? e : new PollfleetError('registration.failed', scrub(String((e as Error)?.message ?? e), o.apiKey), { cause: e });
    const status = /HTTP (\d{3})/.exec(err.message)?.[1];
    o.events?.sink({
      type: 'registration', at: now(), tentacle: o.events.tentacle, ok: false, durationMs: now() - t0,
      errorKind: err.kind, message: err.message, ...(status ? { status: Number(status) } : {}),
    });
    throw err;
  }
}

async function register(o: RegistrationOptions, t0: number): Promise<RegistrationResult> {
  const api = new Api(baseUrl(o.apiUrl), o.apiKey, o.dispatcher, o.timeoutMs ?? REGISTRATION_DEFAULTS.requestTimeoutMs);
  const steps: RegistrationStep[] = [];

  if (o.pollingPort) {
    const check = await timed(steps, 'polling-port', () =>
      checkPollingPort({ ...o.pollingPort!, ...(o.pollingDispatcher ? { dispatcher: o.pollingDispatcher } : {}), timeoutMs: api.timeoutMs }),
    );
    if (!check.isOpen) {
      throw new PollfleetError('registration.failed', `polling port check: ${check.message ?? 'not open'}`, {
        hint: 'the node must be reachable on its polling port (10943 by default) from where the tentacle runs',
      });
    }
  }

  const root = await timed(steps, 'root', () => api.call('root document', 'GET', '/api'));
  const major = apiMajorVersion(root);
  if (!(major >= MIN_API_MAJOR_VERSION)) {
    throw new PollfleetError(
      'registration.failed',
      `root document: ${api.base}/api reports Version ${JSON.stringify((root as Json | null)?.['Version'] ?? null)}; ` +
        `version ${MIN_API_MAJOR_VERSION} or later is needed (is apiUrl the Octopus Server?)`,
    );
  }

  const spaceId = await timed(steps, 'space', async () => {
    if (o.space && /^Spaces-\d+$/i.test(o.space)) return o.space;
    const spaces = items(await api.call('spaces', 'GET', '/api/spaces'));
    const found = o.space
      ? spaces.find((s) => String(s['Name']).toLowerCase() === o.space!.toLowerCase())
      : spaces.find((s) => s['IsDefault'] === true);
    if (!found || typeof found['Id'] !== 'string') {
      const known = spaces.map(nameOrId).join(', ') || 'none';
      throw new PollfleetError(
        'registration.failed',
        o.space ? `space ${JSON.stringify(o.space)} not found; spaces: ${known}` : `no default space; spaces: ${known}`,
      );
    }
    return found['Id'];
  });

  const serverThumbprint = await timed(steps, 'server-thumbprint', async () => {
    const doc = (await api.call('server certificate', 'GET', SERVER_CERTIFICATE_PATH)) as Json | null;
    const t = doc?.['Thumbprint'];
    if (typeof t !== 'string' || t === '') {
      throw new PollfleetError('registration.failed', `server certificate: ${SERVER_CERTIFICATE_PATH} returned no Thumbprint`);
    }
    return t;
  });

  const environmentIds = await timed(steps, 'environments', async () => {
    const envs = items(await api.call('environments', 'GET', `/api/${spaceId}/environments`));
    return o.environments.map((wanted) => {
      const w = wanted.toLowerCase();
      const env = envs.find((e) => String(e['Id']).toLowerCase() === w) ?? envs.find((e) => String(e['Name']).toLowerCase() === w);
      if (!env) {
        throw new PollfleetError(
          'registration.failed',
          `environment ${JSON.stringify(wanted)} not found in ${spaceId}; environments: ${envs.map(nameOrId).join(', ') || 'none'}`,
        );
      }
      return String(env['Id']);
    });
  });

  const machineId = await timed(steps, 'register', async () => {
    const machine = (await api.call('register machine', 'POST', `/api/${spaceId}/machines`, {
      Name: o.name,
      EnvironmentIds: environmentIds,
      Roles: o.roles,
      TenantIds: [],
      TenantTags: [],
      TenantedDeploymentParticipation: 'Untenanted',
      ...(o.machinePolicyId ? { MachinePolicyId: o.machinePolicyId } : {}),
      Endpoint: { CommunicationStyle: 'TentacleActive', Thumbprint: o.thumbprint, Uri: o.subscriptionId },
    })) as Json | null;
    const id = machine?.['Id'];
    if (typeof id !== 'string') throw new PollfleetError('registration.failed', `register machine: the server answered without an Id`);
    return id;
  });

  return { machineId, spaceId, serverThumbprint, durationMs: now() - t0, steps };
}

/** Remove a registered machine (cleanup after a run). */
export async function deleteMachine(o: DeleteMachineOptions): Promise<void> {
  const api = new Api(baseUrl(o.apiUrl), o.apiKey, o.dispatcher, o.timeoutMs ?? REGISTRATION_DEFAULTS.requestTimeoutMs);
  await api.call('delete machine', 'DELETE', `/api/${o.spaceId}/machines/${encodeURIComponent(o.machineId)}`);
}
