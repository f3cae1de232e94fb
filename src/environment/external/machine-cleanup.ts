import type { Dispatcher } from 'undici';
import { PollfleetError } from '../../core/errors.js';
import { OctopusClient } from '../../octopus-api/octopus-client.js';
import { endpointThumbprint } from '../../octopus-api/octopus-resources.js';
import { SYNTHETIC_REGISTRATION_DEFAULTS } from '../../scenario/defaults.js';
import type { Ledger, LedgerEntry } from './ledger.js';
import { scrubKey } from './api-key-source.js';

/**
 * Delete machines listed in a ledger (src/run/ledger.ts) through the REST API: by id, or --
 * for an entry whose registration was in flight when its run died -- by its unique name
 * and thumbprint. A machine that is already gone counts as cleaned. Each success is
 * removed from the ledger at once; failures stay there for the next attempt.
 */

export interface CleanupOptions {
  apiKey: string;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
  concurrency?: number;
  log?: (line: string) => void;
}

export interface CleanupOutcome {
  deleted: string[];
  /** Not found on the server (deleted elsewhere, or the registration never completed). */
  alreadyGone: string[];
  failed: { name: string; message: string }[];
}


function clientFor(apiUrl: string, o: CleanupOptions): OctopusClient {
  return new OctopusClient({
    apiUrl,
    apiKey: o.apiKey,
    ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  });
}

async function resolveSpaceId(api: OctopusClient, space: string | null): Promise<string> {
  if (space && /^Spaces-\d+$/i.test(space)) return space;
  const spaces = await api.spaces('');
  const found = space ? spaces.find((s) => String(s['Name']).toLowerCase() === space.toLowerCase()) : spaces.find((s) => s['IsDefault'] === true);
  if (!found) throw new PollfleetError('api.error', `space ${space ?? '(default)'} not found on ${api.baseUrl}`);
  return String(found['Id']);
}

/**
 * The id of a machine named `name` with `thumbprint`, or null. Both must match: a machine of
 * that name with another certificate (or none) is not this run's and is never deleted.
 */
async function findByName(api: OctopusClient, e: LedgerEntry): Promise<{ id: string; spaceId: string } | null> {
  const spaceId = e.spaceId ?? (await resolveSpaceId(api, e.space));
  const list = await api.machinesNamed(spaceId, e.name);
  const m = list.find((x) => x['Name'] === e.name && endpointThumbprint(x) === e.thumbprint.toUpperCase());
  return m && typeof m['Id'] === 'string' ? { id: m['Id'], spaceId } : null;
}

function isNotFound(e: unknown): boolean {
  return e instanceof PollfleetError && e.status === 404;
}

/** Delete one ledger entry's machine; true = deleted, false = already gone. */
async function deleteEntry(e: LedgerEntry, o: CleanupOptions): Promise<boolean> {
  const api = clientFor(e.apiUrl, o);
  let id = e.machineId;
  let spaceId = e.spaceId;
  if (!id || !spaceId) {
    const found = await findByName(api, e);
    if (!found) return false;
    id = found.id;
    spaceId = found.spaceId;
  }
  try {
    await api.deleteMachine(spaceId, id);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Delete every given entry (bounded concurrency); the ledger is updated as each one succeeds. */
export async function deleteLedgerEntries(ledger: Ledger, entries: LedgerEntry[], o: CleanupOptions): Promise<CleanupOutcome> {
  const out: CleanupOutcome = { deleted: [], alreadyGone: [], failed: [] };
  const queue = [...entries];
  const worker = async () => {
    for (let e = queue.shift(); e; e = queue.shift()) {
      try {
        const deleted = await deleteEntry(e, o);
        ledger.remove(e.name, e.apiUrl);
        (deleted ? out.deleted : out.alreadyGone).push(e.name);
        o.log?.(`${deleted ? 'deleted' : 'already gone'}: ${e.name}${e.machineId ? ` (${e.machineId})` : ''}`);
      } catch (err) {
        const message = scrubKey((err as Error)?.message ?? String(err), o.apiKey);
        out.failed.push({ name: e.name, message });
        o.log?.(`could not delete ${e.name}: ${message}`);
      }
    }
  };
  const n = Math.max(1, Math.min(o.concurrency ?? SYNTHETIC_REGISTRATION_DEFAULTS.deleteConcurrency, queue.length));
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

/** Is the process that wrote an entry gone (so its machines are leftovers)? */
export function isProcessGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'EPERM';
  }
}
