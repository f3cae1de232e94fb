import { now } from '../core/clock.js';
import { PollfleetError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import type { Dispatcher } from 'undici';
import { OctopusClient } from '../octopus-api/octopus-client.js';
import { nameAndId, type Resource } from '../octopus-api/octopus-resources.js';
import { checkPollingPort, type PollingPortCheck } from '../octopus-api/polling-port-check.js';
import { scrubSecret } from '../octopus-api/scrub-secret.js';

/**
 * `Tentacle register-with --comms-style TentacleActive` over the REST API ([H] section 8):
 * optional polling-port check (POST /handshake), root document, space, server
 * thumbprint, environments, then POST /api/{spaceId}/machines -- each through the REST
 * client in src/octopus-api/.
 *
 * The API key travels only in the X-Octopus-ApiKey header; it never appears in an error.
 */

export type { PollingPortCheck } from '../octopus-api/polling-port-check.js';
/** Kept here for the plan renderer, which names the path a registration reads. */
export { SERVER_CERTIFICATE_PATH } from '../octopus-api/api-paths.js';

/** Root document `Version` major must be at least this. */
const MIN_API_MAJOR_VERSION = 3;

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

function apiMajorVersion(root: unknown): number {
  const v = (root as Resource | null)?.['Version'];
  const major = typeof v === 'string' ? Number.parseInt(v, 10) : typeof v === 'number' ? Math.floor(v) : NaN;
  return Number.isFinite(major) ? major : NaN;
}

async function timed<T>(steps: RegistrationStep[], name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = now();
  const out = await fn();
  steps.push({ name, durationMs: now() - t0 });
  return out;
}

/** Register a polling tentacle (CommunicationStyle TentacleActive). Rejects with a PollfleetError. */
export async function registerTentacle(o: RegistrationOptions): Promise<RegistrationResult> {
  const t0 = now();
  try {
    const result = await register(o, t0);
    o.events?.sink({ type: 'registration', at: now(), tentacle: o.events.tentacle, ok: true, durationMs: result.durationMs, machineId: result.machineId });
    return result;
  } catch (e) {
    const err = e instanceof PollfleetError ? e : new PollfleetError('registration.failed', scrubSecret(String((e as Error)?.message ?? e), o.apiKey), { cause: e });
    o.events?.sink({
      type: 'registration', at: now(), tentacle: o.events.tentacle, ok: false, durationMs: now() - t0,
      errorKind: err.kind, message: err.message, ...err.data,
    });
    throw err;
  }
}

async function register(o: RegistrationOptions, t0: number): Promise<RegistrationResult> {
  const api = new OctopusClient({
    apiUrl: o.apiUrl,
    apiKey: o.apiKey,
    ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    failureKind: 'registration.failed',
  });
  const steps: RegistrationStep[] = [];

  if (o.pollingPort) {
    const check = await timed(steps, 'polling-port', () =>
      checkPollingPort({ ...o.pollingPort!, ...(o.pollingDispatcher ? { dispatcher: o.pollingDispatcher } : {}), timeoutMs: api.timeoutMs }),
    );
    if (!check.isOpen) {
      throw new PollfleetError('registration.failed', `polling port check: ${check.message ?? 'not open'}`, {
        hint: 'the node must be reachable on its polling port (10943 by default) from where the tentacle runs',
        address: check.url,
        ...(check.status !== undefined ? { status: check.status } : {}),
      });
    }
  }

  const root = await timed(steps, 'root', () => api.rootDocument());
  const major = apiMajorVersion(root);
  if (!(major >= MIN_API_MAJOR_VERSION)) {
    throw new PollfleetError(
      'registration.failed',
      `root document: ${api.baseUrl}/api reports Version ${JSON.stringify(root['Version'] ?? null)}; ` +
        `version ${MIN_API_MAJOR_VERSION} or later is needed (is apiUrl the Octopus Server?)`,
    );
  }

  const spaceId = await timed(steps, 'space', async () => {
    if (o.space && /^Spaces-\d+$/i.test(o.space)) return o.space;
    const spaces = await api.spaces();
    const found = o.space
      ? spaces.find((s) => String(s['Name']).toLowerCase() === o.space!.toLowerCase())
      : spaces.find((s) => s['IsDefault'] === true);
    if (!found || typeof found['Id'] !== 'string') {
      const known = spaces.map(nameAndId).join(', ') || 'none';
      throw new PollfleetError(
        'registration.failed',
        o.space ? `space ${JSON.stringify(o.space)} not found; spaces: ${known}` : `no default space; spaces: ${known}`,
      );
    }
    return found['Id'];
  });

  const serverThumbprint = await timed(steps, 'server-thumbprint', () => api.serverThumbprint());

  const environmentIds = await timed(steps, 'environments', async () => {
    const envs = await api.environments(spaceId);
    return o.environments.map((wanted) => {
      const w = wanted.toLowerCase();
      const env = envs.find((e) => String(e['Id']).toLowerCase() === w) ?? envs.find((e) => String(e['Name']).toLowerCase() === w);
      if (!env) {
        throw new PollfleetError(
          'registration.failed',
          `environment ${JSON.stringify(wanted)} not found in ${spaceId}; environments: ${envs.map(nameAndId).join(', ') || 'none'}`,
        );
      }
      return String(env['Id']);
    });
  });

  const machineId = await timed(steps, 'register', () =>
    api.createMachine(spaceId, {
      Name: o.name,
      EnvironmentIds: environmentIds,
      Roles: o.roles,
      TenantIds: [],
      TenantTags: [],
      TenantedDeploymentParticipation: 'Untenanted',
      ...(o.machinePolicyId ? { MachinePolicyId: o.machinePolicyId } : {}),
      Endpoint: { CommunicationStyle: 'TentacleActive', Thumbprint: o.thumbprint, Uri: o.subscriptionId },
    }),
  );

  return { machineId, spaceId, serverThumbprint, durationMs: now() - t0, steps };
}
