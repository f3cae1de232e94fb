import type { Machine, MachineRegistry, NewMachine } from './machine-registry.js';

/** Raised when a machine cannot be registered; the message is safe to show to a user. */
export class RegistrationRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistrationRejected';
  }
}

/**
 * The cluster's machine "database" in memory (one process). Ids are `Machines-1`, `Machines-2`,
 * ... in registration order and never reused; names are unique per space (case-insensitive,
 * like Octopus); thumbprints are stored upper-case and trusted case-insensitively.
 */
export class MemoryRegistry implements MachineRegistry {
  readonly #machines = new Map<string, Machine>();
  /** Upper-case thumbprint -> number of machines using it. */
  readonly #trusted = new Map<string, number>();
  #nextId = 1;

  async register(m: NewMachine): Promise<Machine> {
    const name = m.name.trim();
    for (const existing of this.#machines.values()) {
      if (existing.spaceId === m.spaceId && existing.name.toLowerCase() === name.toLowerCase()) {
        throw new RegistrationRejected(`A machine named "${name}" already exists in ${m.spaceId} (${existing.id}); machine names must be unique.`);
      }
    }
    const thumbprint = m.thumbprint.toUpperCase();
    const machine: Machine = {
      ...m,
      name,
      thumbprint,
      environmentIds: [...m.environmentIds],
      roles: [...m.roles],
      id: `Machines-${this.#nextId++}`,
      createdAt: new Date().toISOString(),
    };
    this.#machines.set(machine.id, machine);
    this.#trusted.set(thumbprint, (this.#trusted.get(thumbprint) ?? 0) + 1);
    return machine;
  }

  get(spaceId: string, id: string): Machine | undefined {
    const m = this.#machines.get(id);
    return m && m.spaceId === spaceId ? m : undefined;
  }

  list(spaceId: string): Machine[] {
    return [...this.#machines.values()].filter((m) => m.spaceId === spaceId);
  }

  async delete(spaceId: string, id: string): Promise<boolean> {
    const m = this.get(spaceId, id);
    if (!m) return false;
    this.#machines.delete(id);
    const n = (this.#trusted.get(m.thumbprint) ?? 1) - 1;
    if (n <= 0) this.#trusted.delete(m.thumbprint);
    else this.#trusted.set(m.thumbprint, n);
    return true;
  }

  isTrusted(thumbprint: string): boolean {
    return this.#trusted.has(thumbprint.toUpperCase());
  }

  subscriptions(): Iterable<Machine> {
    return [...this.#machines.values()];
  }
}
