import type { Machine, MachineRegistry, NewMachine } from './machine-registry.js';

/**
 * A node process's view of the cluster's machine registry: a local mirror kept in step by
 * the supervisor's broadcasts, with writes sent to the supervisor (the "database").
 */
export type RegistryRequest = (
  msg: { kind: 'register'; machine: NewMachine } | { kind: 'delete'; spaceId: string; id: string },
) => Promise<unknown>;

export class IpcRegistry implements MachineRegistry {
  #machines = new Map<string, Machine>();
  #trusted = new Map<string, number>();
  #request: RegistryRequest;

  constructor(initial: Machine[], request: RegistryRequest) {
    this.#request = request;
    for (const m of initial) this.added(m);
  }

  added(m: Machine): void {
    if (this.#machines.has(m.id)) return;
    this.#machines.set(m.id, m);
    const tp = m.thumbprint.toUpperCase();
    this.#trusted.set(tp, (this.#trusted.get(tp) ?? 0) + 1);
  }

  deleted(spaceId: string, id: string): void {
    const m = this.#machines.get(id);
    if (!m || m.spaceId !== spaceId) return;
    this.#machines.delete(id);
    const tp = m.thumbprint.toUpperCase();
    const n = (this.#trusted.get(tp) ?? 1) - 1;
    if (n <= 0) this.#trusted.delete(tp);
    else this.#trusted.set(tp, n);
  }

  async register(m: NewMachine): Promise<Machine> {
    return (await this.#request({ kind: 'register', machine: m })) as Machine;
  }

  get(spaceId: string, id: string): Machine | undefined {
    const m = this.#machines.get(id);
    return m && m.spaceId === spaceId ? m : undefined;
  }

  list(spaceId: string): Machine[] {
    return [...this.#machines.values()].filter((m) => m.spaceId === spaceId);
  }

  async delete(spaceId: string, id: string): Promise<boolean> {
    return (await this.#request({ kind: 'delete', spaceId, id })) as boolean;
  }

  isTrusted(thumbprint: string): boolean {
    return this.#trusted.has(thumbprint.toUpperCase());
  }

  subscriptions(): Iterable<Machine> {
    return this.#machines.values();
  }
}
