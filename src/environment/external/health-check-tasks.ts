import type { PollfleetEvent } from '../../core/events.js';
import { now } from '../../core/clock.js';
import { DurationHistogram } from '../../result/histogram.js';
import type { HealthChecksResult } from '../../result/result.js';
import type { OctopusClient } from '../../octopus-api/octopus-client.js';
import { readTask, startHealthCheck, type TaskSnapshot } from '../../octopus-api/server-tasks.js';
import { HEALTH_CHECK_TASK_DEFAULTS } from '../../scenario/defaults.js';

export interface HealthCheckTasksOptions {
  client: OctopusClient;
  everyMs: number;
  /** The synthetic machines registered so far: tentacle index -> machine id and space. */
  machines: () => ReadonlyMap<number, { machineId: string; spaceId: string }>;
  log: (line: string) => void;
}

interface Tracked {
  id: string;
  /** When pollfleet queued it (its own clock). */
  queuedAt: number;
  tentacles: Set<number>;
  snapshot: TaskSnapshot | null;
  /** First request that reached one of its machines after it was queued (pollfleet's clock). */
  firstRequestAt: number | null;
}

/**
 * Real work through a real cluster (external.healthChecks): every `everyMs` pollfleet queues a
 * health-check task for the synthetic machines it registered (`POST /api/{space}/tasks`,
 * `Name: Health`, `Arguments.MachineIds` -- never a machine it did not create), reads each task
 * back (`GET /api/tasks/{id}`) for its state and the node that ran it, and watches the fleet's
 * events for the first request that reaches one of those machines.
 *
 * Measured per node (the task's ServerNode): the time from queueing the task to the first
 * request arriving -- pollfleet's own clock at both ends, so no clock skew with the server; it
 * includes the server's wait for a free task slot. What arrives (service and method) is counted.
 * What a real server's health check sends, and whether it accepts the synthetic tentacle's
 * answers, is the server's business: the task's final state is reported as the server gives it.
 */
export class HealthCheckTasks {
  readonly #o: HealthCheckTasksOptions;
  readonly #tasks: Tracked[] = [];
  readonly #seen = new Map<string, number>();
  readonly #errors: string[] = [];
  #timer: NodeJS.Timeout | null = null;
  #reader: NodeJS.Timeout | null = null;
  #busy: Promise<void> = Promise.resolve();

  constructor(o: HealthCheckTasksOptions) {
    this.#o = o;
  }

  /** Feed every fleet event (requests reaching the synthetic tentacles). */
  observe(e: PollfleetEvent): void {
    if (e.type !== 'polled' || e.kind !== 'request') return;
    const key = `${e.service ?? '?'}.${e.method ?? '?'}`;
    this.#seen.set(key, (this.#seen.get(key) ?? 0) + 1);
    for (const t of this.#tasks) if (t.firstRequestAt === null && e.at >= t.queuedAt && t.tentacles.has(e.tentacle)) t.firstRequestAt = e.at;
  }

  start(): void {
    if (this.#timer) return;
    this.#queue();
    this.#timer = setInterval(() => this.#queue(), this.#o.everyMs);
    this.#reader = setInterval(() => this.#readBack(), HEALTH_CHECK_TASK_DEFAULTS.readIntervalMs);
  }

  /** Stop queueing; read every task back once more (bounded) so the final states are the server's latest. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#reader) clearInterval(this.#reader);
    this.#timer = this.#reader = null;
    await this.#busy;
    await this.#readAll();
  }

  #error(what: string, e: unknown): void {
    const message = `${what}: ${(e as Error)?.message ?? String(e)}`;
    if (this.#errors.length < HEALTH_CHECK_TASK_DEFAULTS.maxErrors) this.#errors.push(message);
    this.#o.log(`health-check task ${message}`);
  }

  #queue(): void {
    this.#busy = this.#busy.then(async () => {
      const machines = [...this.#o.machines()];
      if (machines.length === 0) return;
      const spaceId = machines[0]![1].spaceId;
      const queuedAt = now();
      try {
        const snap = await startHealthCheck(this.#o.client, spaceId, machines.map(([, m]) => m.machineId));
        this.#tasks.push({ id: snap.id, queuedAt, tentacles: new Set(machines.map(([t]) => t)), snapshot: snap, firstRequestAt: null });
      } catch (e) {
        this.#error('could not be queued', e);
      }
    });
  }

  #readBack(): void {
    this.#busy = this.#busy.then(() => this.#readAll(true));
  }

  async #readAll(openOnly = false): Promise<void> {
    for (const t of this.#tasks) {
      if (!t.id || (openOnly && t.snapshot?.isCompleted)) continue;
      try {
        t.snapshot = await readTask(this.#o.client, t.id);
      } catch (e) {
        this.#error(`${t.id} could not be read`, e);
      }
    }
  }

  result(): HealthChecksResult {
    const states: Record<string, number> = {};
    const perNode = new Map<string, { tasks: number; h: DurationHistogram; withoutRequest: number }>();
    for (const t of this.#tasks) {
      const state = t.snapshot?.state ?? 'Unknown';
      states[state] = (states[state] ?? 0) + 1;
      const node = t.snapshot?.serverNode ?? '(no node yet)';
      const p = perNode.get(node) ?? { tasks: 0, h: new DurationHistogram(), withoutRequest: 0 };
      p.tasks++;
      if (t.firstRequestAt !== null) p.h.recordMs(t.firstRequestAt - t.queuedAt);
      else p.withoutRequest++;
      perNode.set(node, p);
    }
    return {
      everyMs: this.#o.everyMs,
      tasks: this.#tasks.length,
      states,
      perNode: Object.fromEntries([...perNode].map(([node, p]) => [node, { tasks: p.tasks, firstRequestMs: p.h.quantiles(), withoutRequest: p.withoutRequest }])),
      requestsSeen: Object.fromEntries(this.#seen),
      errors: [...this.#errors],
    };
  }
}
