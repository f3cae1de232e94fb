import { setTimeout as sleep } from 'node:timers/promises';
import { now } from '../core/clock.js';
import { PollfleetError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import type { Dispatcher } from 'undici';
import { REGISTRATION_DEFAULTS } from '../scenario/defaults.js';
import { OctopusClient } from '../octopus-api/octopus-client.js';
import { endpointThumbprint, nameAndId, pollingEndpoint, type NewPollingMachine, type Resource } from '../octopus-api/octopus-resources.js';
import { checkPollingPort, type PollingPortCheck, type PortCheckResult } from '../octopus-api/polling-port-check.js';
import { scrubSecret } from '../octopus-api/scrub-secret.js';

/**
 * `Tentacle register-with --comms-style TentacleActive` over the REST API ([H] section 8),
 * in the order the real command runs it (OctopusDeploy/OctopusTentacle
 * source/Octopus.Tentacle/Commands/RegisterMachineCommandBase.cs, and OctopusDeploy/OctopusClients
 * source/Octopus.Server.Client/Operations/RegisterMachineOperation.cs):
 * optional polling-port check (POST /handshake, retried), root document (Version >= 3), the
 * key's own spaces (GET /api/users/me, then its spaces), server thumbprint, every page of
 * environments, the machine looked up by name (exists: "already exists" unless `force`,
 * which replaces it with a PUT as Machines.Modify does), then POST /api/{spaceId}/machines.
 * HTTP 429 answers are waited out (Retry-After) and counted in the result and the event.
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
  /** TentacleActive (default) or KubernetesTentacle: what register-with / the Kubernetes agent's registration sends. */
  communicationStyle?: 'TentacleActive' | 'KubernetesTentacle';
  /** Replace a machine of the same name (register-with --force); without it an existing name is an error. */
  force?: boolean;
  /**
   * A machine of this name whose endpoint has this thumbprint is taken as this registration's
   * own (its id returned, nothing posted): a retry after an earlier attempt's answer was lost,
   * when the server may have created it. Another thumbprint is handled as without it.
   */
  adopt?: boolean;
  /** Aborts waits (HTTP 429, port-check retries): the run is stopping. */
  signal?: AbortSignal;
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
  /** An existing machine of that name was replaced (force). */
  replaced: boolean;
  /** An existing machine of that name and thumbprint was taken as this one's (`adopt`): nothing was posted. */
  adopted?: boolean;
  /** HTTP 429 answers waited out, and the time spent waiting for them. */
  throttled: number;
  throttledWaitMs: number;
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
  let api: OctopusClient | null = null;
  const throttle = () => (api ? { throttled: api.throttle.throttled, throttledWaitMs: Math.round(api.throttle.throttledWaitMs) } : { throttled: 0, throttledWaitMs: 0 });
  try {
    api = new OctopusClient({
      apiUrl: o.apiUrl,
      apiKey: o.apiKey,
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      failureKind: 'registration.failed',
    });
    const result = await register(o, api, t0);
    o.events?.sink({
      type: 'registration', at: now(), tentacle: o.events.tentacle, ok: true, durationMs: result.durationMs, machineId: result.machineId,
      ...(result.throttled ? { throttled: result.throttled, throttledWaitMs: result.throttledWaitMs } : {}),
    });
    return result;
  } catch (e) {
    const err = e instanceof PollfleetError ? e : new PollfleetError('registration.failed', scrubSecret(String((e as Error)?.message ?? e), o.apiKey), { cause: e });
    const t = throttle();
    o.events?.sink({
      type: 'registration', at: now(), tentacle: o.events.tentacle, ok: false, durationMs: now() - t0,
      errorKind: err.kind, message: err.message, ...err.data,
      ...(t.throttled ? t : {}),
    });
    throw err;
  }
}

/** The polling-port check, tried REGISTRATION_DEFAULTS.portCheckAttempts times (a node that is starting, a balancer warming up). */
async function checkPortWithRetries(o: RegistrationOptions, timeoutMs: number): Promise<PortCheckResult> {
  let check: PortCheckResult | null = null;
  for (let attempt = 1; attempt <= REGISTRATION_DEFAULTS.portCheckAttempts; attempt++) {
    check = await checkPollingPort({ ...o.pollingPort!, ...(o.pollingDispatcher ? { dispatcher: o.pollingDispatcher } : {}), timeoutMs });
    if (check.isOpen) return check;
    if (attempt < REGISTRATION_DEFAULTS.portCheckAttempts) {
      await sleep(REGISTRATION_DEFAULTS.portCheckRetryDelayMs, undefined, o.signal ? { signal: o.signal } : undefined);
    }
  }
  return { ...check!, message: `${check!.message ?? 'not open'} (${REGISTRATION_DEFAULTS.portCheckAttempts} tries)` };
}

async function register(o: RegistrationOptions, api: OctopusClient, t0: number): Promise<RegistrationResult> {
  const steps: RegistrationStep[] = [];

  if (o.pollingPort) {
    const check = await timed(steps, 'polling-port', () => checkPortWithRetries(o, api.timeoutMs));
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
    // The key's own spaces, as the real client resolves them (a key may not see every space).
    const spaces = await api.currentUserSpaces();
    const found = o.space
      ? spaces.find((s) => String(s['Name']).toLowerCase() === o.space!.toLowerCase())
      : spaces.find((s) => s['IsDefault'] === true);
    if (!found || typeof found['Id'] !== 'string') {
      const known = spaces.map(nameAndId).join(', ') || 'none';
      throw new PollfleetError(
        'registration.failed',
        o.space ? `space ${JSON.stringify(o.space)} not found among the API key's spaces: ${known}` : `no default space among the API key's spaces: ${known}`,
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
          `environment ${JSON.stringify(wanted)} not found in ${spaceId} (${envs.length} read, every page); environments: ${envs.map(nameAndId).join(', ') || 'none'}`,
        );
      }
      return String(env['Id']);
    });
  });

  // Looked up by name first, as Octopus.Client's RegisterMachineOperation does (FindByName;
  // the server's name filter may match partially, so compare exactly, ignoring case).
  const existing = await timed(steps, 'lookup', async () => {
    const named = await api.machinesNamed(spaceId, o.name, 'machine lookup');
    return named.find((m) => String(m['Name']).toLowerCase() === o.name.toLowerCase()) ?? null;
  });
  if (existing && o.adopt && typeof existing['Id'] === 'string' && endpointThumbprint(existing) === o.thumbprint.toUpperCase()) {
    return {
      machineId: existing['Id'], spaceId, serverThumbprint, durationMs: now() - t0, steps,
      replaced: false, adopted: true,
      throttled: api.throttle.throttled,
      throttledWaitMs: Math.round(api.throttle.throttledWaitMs),
    };
  }
  if (existing && !o.force) {
    throw new PollfleetError('registration.failed', `a machine named ${JSON.stringify(o.name)} already exists in ${spaceId} (${String(existing['Id'])}); pollfleet does not replace it`, {
      hint: 'choose another external.register.namePrefix, or set external.register.force: true to replace that machine (register-with --force)',
    });
  }

  const body: NewPollingMachine = {
    Name: o.name,
    EnvironmentIds: environmentIds,
    Roles: o.roles,
    TenantIds: [],
    TenantTags: [],
    TenantedDeploymentParticipation: 'Untenanted',
    ...(o.machinePolicyId ? { MachinePolicyId: o.machinePolicyId } : {}),
    Endpoint: pollingEndpoint(o.communicationStyle ?? 'TentacleActive', o.thumbprint, o.subscriptionId),
  };
  const machineId = await timed(steps, 'register', () =>
    existing ? api.modifyMachine(spaceId, String(existing['Id']), body) : api.createMachine(spaceId, body),
  );

  return {
    machineId, spaceId, serverThumbprint, durationMs: now() - t0, steps,
    replaced: existing !== null,
    throttled: api.throttle.throttled,
    throttledWaitMs: Math.round(api.throttle.throttledWaitMs),
  };
}
