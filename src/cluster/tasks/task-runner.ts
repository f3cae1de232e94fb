import { now } from '../../core/clock.js';
import { TASK_NAME, isFinished, type ServerTaskRecord, type TaskKind, type TaskState } from './server-task.js';

/** What a task body gets: a way to record a call, and whether the task was canceled. */
export interface TaskBodyContext {
  record: ServerTaskRecord;
  canceled(): boolean;
}

/** Runs a task's work; resolves with the final state (and an error message when it failed). */
export type TaskBody = (ctx: TaskBodyContext) => Promise<{ state: Extract<TaskState, 'Success' | 'Failed' | 'TimedOut' | 'Canceled'>; errorMessage?: string }>;

export interface TaskRunnerOptions {
  nodeName: string;
  /** Tasks executing at once; the rest wait Queued. */
  taskCap: number;
  /** Finished records kept for GET /api/tasks/{id} (oldest dropped first). */
  keepFinished?: number;
  /** Called when a task finishes. */
  onFinished?: (record: ServerTaskRecord) => void;
}

const KEEP_FINISHED = 1_000;

/**
 * One node's task queue: tasks start Queued, execute in arrival order while fewer than the
 * task cap are executing, and end Success / Failed / TimedOut / Canceled. A task is queued
 * on, and runs on, the node it was started on (as an Octopus node picks up its own tasks).
 */
export class TaskRunner {
  readonly #o: TaskRunnerOptions;
  readonly #records = new Map<string, ServerTaskRecord>();
  readonly #waiting: { record: ServerTaskRecord; body: TaskBody }[] = [];
  readonly #finished: string[] = [];
  #executing = 0;
  #nextId = 1;
  #stopped = false;
  readonly #running = new Set<Promise<void>>();
  readonly #waiters = new Map<string, ((r: ServerTaskRecord) => void)[]>();

  constructor(o: TaskRunnerOptions) {
    this.#o = o;
  }

  get nodeName(): string {
    return this.#o.nodeName;
  }

  get executing(): number {
    return this.#executing;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** Queue a task; it runs when there is room under the cap. */
  start(kind: TaskKind, subscriptions: string[], body: TaskBody, o: { machineIds?: string[]; description?: string } = {}): ServerTaskRecord {
    const record: ServerTaskRecord = {
      // Unique across the cluster's nodes (their records live in each node, not in a shared database).
      id: `ServerTasks-${this.#o.nodeName}-${this.#nextId++}`,
      kind,
      name: TASK_NAME[kind],
      description: o.description ?? defaultDescription(kind, subscriptions.length),
      subscriptions,
      machineIds: o.machineIds ?? [],
      state: 'Queued',
      serverNode: this.#o.nodeName,
      queueTime: now(),
      startTime: null,
      completedTime: null,
      errorMessage: '',
      requests: 0,
      expired: 0,
      calls: [],
    };
    this.#records.set(record.id, record);
    if (this.#stopped) this.#finish(record, 'Canceled', 'the node is stopping');
    else {
      this.#waiting.push({ record, body });
      this.#pump();
    }
    return record;
  }

  get(id: string): ServerTaskRecord | undefined {
    return this.#records.get(id);
  }

  /** Resolves with the record once the task has finished (at once if it has). */
  finished(id: string): Promise<ServerTaskRecord> {
    const r = this.#records.get(id);
    if (!r) return Promise.reject(new Error(`no task ${id}`));
    if (isFinished(r.state)) return Promise.resolve(r);
    return new Promise((resolve) => {
      const list = this.#waiters.get(id) ?? [];
      list.push(resolve);
      this.#waiters.set(id, list);
    });
  }

  /** Stop: queued tasks are canceled, executing ones are told to stop at their next step. */
  stop(): void {
    this.#stopped = true;
    for (const w of this.#waiting.splice(0)) this.#finish(w.record, 'Canceled', 'the node is stopping');
  }

  /** Resolves when every executing task has ended (for tests). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  #pump(): void {
    while (!this.#stopped && this.#executing < this.#o.taskCap && this.#waiting.length > 0) {
      const { record, body } = this.#waiting.shift()!;
      this.#executing++;
      record.state = 'Executing';
      record.startTime = now();
      const p = body({ record, canceled: () => this.#stopped })
        .then(
          (r) => this.#finish(record, r.state, r.errorMessage ?? ''),
          (e: unknown) => this.#finish(record, 'Failed', e instanceof Error ? e.message : String(e)),
        )
        .finally(() => {
          this.#executing--;
          this.#running.delete(p);
          this.#pump();
        });
      this.#running.add(p);
    }
  }

  #finish(record: ServerTaskRecord, state: TaskState, errorMessage: string): void {
    if (isFinished(record.state)) return;
    record.state = state;
    record.errorMessage = errorMessage;
    record.completedTime = now();
    this.#finished.push(record.id);
    const keep = this.#o.keepFinished ?? KEEP_FINISHED;
    while (this.#finished.length > keep) this.#records.delete(this.#finished.shift()!);
    this.#o.onFinished?.(record);
    const waiters = this.#waiters.get(record.id);
    this.#waiters.delete(record.id);
    for (const w of waiters ?? []) w(record);
  }
}

function defaultDescription(kind: TaskKind, machines: number): string {
  const what = kind === 'health' ? 'Check health' : kind === 'deploy' ? 'Run a deployment step' : 'Upload a package';
  return `${what} (${machines} machine${machines === 1 ? '' : 's'})`;
}
