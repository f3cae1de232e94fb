import { chmodSync, rmSync } from 'node:fs';
import { InputTooLargeError, readInputFile } from '../../core/read-input.js';
import { PollfleetError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/atomic-write.js';

/**
 * The synthetic machine ledger: a local file (0600) listing every machine a run registers
 * on a real cluster, so that exactly those machines are deleted -- at the end of the run,
 * on Ctrl-C, on an error, and by the next run or `pollfleet cleanup` when a run died.
 *
 * An entry is written *before* the registration request is sent (by name, with no id yet)
 * and completed with the machine id as soon as the server answers, so even a run killed
 * mid-request leaves a trace; an entry is removed only once its DELETE succeeded (or the
 * machine is already gone). It never holds the API key: only where (api url, space) and what.
 */

export const LEDGER_VERSION = 1;

export interface LedgerEntry {
  /** Machine name (unique: prefix + run id + index). */
  name: string;
  /** Null while the registration request is in flight. */
  machineId: string | null;
  /** Null until the server answered. */
  spaceId: string | null;
  /** The space as configured (name or id), for finding a pending entry by name. */
  space: string | null;
  apiUrl: string;
  /** Tentacle certificate thumbprint the machine was registered with. */
  thumbprint: string;
  runId: string;
  /** Process that created it: a live process's entries are not touched by another run. */
  pid: number;
  createdAt: string;
}

interface LedgerFile {
  version: number;
  machines: LedgerEntry[];
}

/** A ledger entry is ~300 bytes: a million machines is far past any run's safety limits. */
const LEDGER_MAX_BYTES = 512 * 1024 * 1024;

export class Ledger {
  constructor(readonly file: string) {}

  /** All entries (an absent file is an empty ledger; a corrupt one is an error naming the file). */
  entries(): LedgerEntry[] {
    let text: string;
    try {
      text = readInputFile(this.file, LEDGER_MAX_BYTES).toString('utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      if (e instanceof InputTooLargeError) throw new PollfleetError('input.invalid', `ledger ${e.message}: not a ledger pollfleet wrote`);
      throw new PollfleetError('input.invalid', `ledger ${this.file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new PollfleetError('input.invalid', `ledger ${this.file}: not valid JSON`, { hint: 'it lists machines to delete; fix or remove it by hand after checking the cluster' });
    }
    const list = (parsed as LedgerFile | null)?.machines;
    if (!Array.isArray(list)) throw new PollfleetError('input.invalid', `ledger ${this.file}: expected {"version":1,"machines":[...]}`);
    return list.filter((m): m is LedgerEntry => !!m && typeof m === 'object' && typeof (m as LedgerEntry).name === 'string' && typeof (m as LedgerEntry).apiUrl === 'string');
  }

  #write(machines: LedgerEntry[]): void {
    if (machines.length === 0) {
      rmSync(this.file, { force: true });
      return;
    }
    const body: LedgerFile = { version: LEDGER_VERSION, machines };
    writeFileAtomic(this.file, JSON.stringify(body, null, 2) + '\n', 0o600);
    chmodSync(this.file, 0o600);
  }

  /** Record a machine about to be registered (before the request is sent). */
  addPending(e: Omit<LedgerEntry, 'machineId' | 'spaceId' | 'pid' | 'createdAt'>): void {
    const all = this.entries().filter((x) => x.name !== e.name || x.apiUrl !== e.apiUrl);
    all.push({ ...e, machineId: null, spaceId: null, pid: process.pid, createdAt: new Date().toISOString() });
    this.#write(all);
  }

  /** The server answered: the machine exists with this id. */
  setCreated(name: string, apiUrl: string, machineId: string, spaceId: string): void {
    const all = this.entries();
    const e = all.find((x) => x.name === name && x.apiUrl === apiUrl);
    if (e) {
      e.machineId = machineId;
      e.spaceId = spaceId;
    }
    this.#write(all);
  }

  /** The machine is deleted (or never came to exist). */
  remove(name: string, apiUrl: string): void {
    const all = this.entries();
    const rest = all.filter((x) => !(x.name === name && x.apiUrl === apiUrl));
    if (rest.length !== all.length) this.#write(rest);
  }
}
