import { setMaxListeners } from 'node:events';
import { now } from '../core/clock.js';
import type { EventSink } from '../core/events.js';
import { WORKLOAD_DEFAULTS } from '../scenario/defaults.js';
import {
  Guid,
  formatTimeSpan,
  requestId,
  serviceEndPoint,
  type EndpointTimeouts,
  type OutgoingDataStream,
  type RequestMessage,
} from '../halibut/index.js';
import type { MachineRegistry } from './machine-registry.js';
import type { QueueOutcome, WorkQueue } from './work-queue.js';
import { TASK_KINDS, type ServerTaskRecord, type TaskKind, type WorkloadTaskSettings } from './tasks/server-task.js';
import { TaskRunner, type TaskBody } from './tasks/task-runner.js';
import { HEALTH_SCRIPT_BODY, getCapabilities, runScript, uploadPackage, type StepIo, type StepResult } from './tasks/task-steps.js';

/** Calls kept per task record (bounded). */
const MAX_CALLS_RECORDED = 50;

export type ProbeKind = 'capabilities' | 'script';

export interface WorkloadSettings {
  /** A round (tasks topped up for every registered machine) this often. */
  intervalMs: number;
  /** Legacy: used only for probe(); the rounds use `tasks.mix`. */
  scriptShare: number;
  enabled: boolean;
  scriptStatusBackoffMinMs: number;
  scriptStatusBackoffFactor: number;
  scriptStatusBackoffMaxMs: number;
  scriptStatusMaxPolls: number;
  /** The task workload's knobs; unset fields take WORKLOAD_DEFAULTS. */
  tasks?: Partial<WorkloadTaskSettings>;
}

/** The task knobs with every default filled in. */
export function taskSettings(t: Partial<WorkloadTaskSettings> | undefined): WorkloadTaskSettings {
  return {
    mix: t?.mix ?? { ...WORKLOAD_DEFAULTS.mix },
    concurrentTasksPerTentacle: t?.concurrentTasksPerTentacle ?? WORKLOAD_DEFAULTS.concurrentTasksPerTentacle,
    scriptDurationMs: t?.scriptDurationMs ?? WORKLOAD_DEFAULTS.scriptDurationMs,
    uploadBytes: t?.uploadBytes ?? WORKLOAD_DEFAULTS.uploadBytes,
    taskCap: t?.taskCap ?? WORKLOAD_DEFAULTS.taskCap,
    capabilitiesCacheMs: t?.capabilitiesCacheMs ?? WORKLOAD_DEFAULTS.capabilitiesCacheMs,
  };
}

export interface WorkloadOptions {
  nodeName: string;
  queue: WorkQueue;
  registry: MachineRegistry;
  settings: WorkloadSettings;
  /** ServiceEndPoint fields of every request; `pollingRequestQueueTimeoutMs` is also the collection timeout. */
  endpoint: EndpointTimeouts;
  isPaused: () => boolean;
  /** Where task-finished events go (the node's sink). */
  sink?: EventSink;
  /** Injectable for tests; defaults to Math.random. */
  random?: () => number;
}

/** How one probe went: the outcome of its last request (a script stops at its first failure). */
export interface ProbeResult {
  kind: ProbeKind;
  subscription: string;
  requests: number;
  outcome: QueueOutcome;
}

/**
 * The work a node queues, as tasks a server runs (src/cluster/tasks/): every round (spread
 * over the interval) tops each registered machine up to `concurrentTasksPerTentacle` tasks,
 * their kinds drawn by `mix`:
 * - health check: GetCapabilities only when this node's 10-minute cache for the machine has
 *   expired (Octopus caches it per machine, [CacheResponse(600)]), then a short script;
 * - deployment step: StartScript (`sleep <scriptDuration>`), GetStatus with the caller's
 *   back-off until complete, CompleteScript;
 * - package upload: IFileTransferService.UploadFile with a data stream of `uploadSize` bytes,
 *   the answer's hash checked.
 * Tasks run on this node under its task cap; each of their requests is a QueueItem owned by
 * this node. Paused while the node drains. probe() queues one bare request sequence (faults, tests).
 */
export class Workload {
  readonly #o: WorkloadOptions;
  readonly #t: WorkloadTaskSettings;
  readonly #random: () => number;
  readonly #stop = new AbortController();
  readonly #running = new Set<Promise<unknown>>();
  readonly #runner: TaskRunner;
  /** Workload tasks queued or executing per subscription. */
  readonly #active = new Map<string, number>();
  /** When this node last had a GetCapabilities answer per subscription. */
  readonly #capabilitiesAt = new Map<string, number>();
  readonly #finishedByKind: Record<TaskKind, Record<string, number>> = { health: {}, deploy: {}, upload: {} };
  #timer: NodeJS.Timeout | null = null;
  readonly #slices = new Set<NodeJS.Timeout>();
  #nextKey = 1;
  #nextTask = 1;

  constructor(o: WorkloadOptions) {
    // One signal watched by every connection (thousands): not a leak.
    setMaxListeners(0, this.#stop.signal);
    this.#o = o;
    this.#t = taskSettings(o.settings.tasks);
    this.#random = o.random ?? Math.random;
    this.#runner = new TaskRunner({
      nodeName: o.nodeName,
      taskCap: this.#t.taskCap,
      onFinished: (r) => {
        const byState = this.#finishedByKind[r.kind];
        byState[r.state] = (byState[r.state] ?? 0) + 1;
        o.sink?.({ type: 'task-finished', at: r.completedTime ?? now(), node: o.nodeName, kind: r.kind, state: r.state, durationMs: (r.completedTime ?? now()) - (r.startTime ?? r.queueTime) });
      },
    });
  }

  /** This node's tasks (the REST API reads and starts them here). */
  get tasks(): TaskRunner {
    return this.#runner;
  }

  /** Finished tasks per kind and final state (for tests and diagnostics). */
  get finishedByKind(): Readonly<Record<TaskKind, Readonly<Record<string, number>>>> {
    return this.#finishedByKind;
  }

  /** Start the periodic rounds (no-op when disabled). */
  start(): void {
    if (!this.#o.settings.enabled || this.#timer || this.#stop.signal.aborted) return;
    this.#timer = setInterval(() => this.#spreadRound(), this.#o.settings.intervalMs);
  }

  /**
   * One periodic round, spread over the interval: slice k of the machines is topped up at
   * k x interval / slices, so pickup latency measures collection, not a self-made burst.
   */
  #spreadRound(): void {
    if (this.#o.isPaused() || this.#stop.signal.aborted) return;
    const machines = [...this.#o.registry.subscriptions()];
    const slices = Math.max(1, Math.min(WORKLOAD_DEFAULTS.spreadSlices, machines.length));
    const stepMs = this.#o.settings.intervalMs / slices;
    for (let k = 0; k < slices; k++) {
      const run = () => {
        if (this.#o.isPaused() || this.#stop.signal.aborted) return;
        for (let i = k; i < machines.length; i += slices) this.#topUp(machines[i]!.subscriptionId);
      };
      if (k === 0) run();
      else {
        const timer = setTimeout(() => {
          this.#slices.delete(timer);
          run();
        }, k * stepMs);
        this.#slices.add(timer);
      }
    }
  }

  /** Start tasks for a machine until it has `concurrentTasksPerTentacle` queued or executing. */
  #topUp(subscription: string): void {
    while ((this.#active.get(subscription) ?? 0) < this.#t.concurrentTasksPerTentacle) {
      this.startTask(this.#drawKind(), [subscription]);
    }
  }

  #drawKind(): TaskKind {
    // A queue that cannot carry data streams gets no uploads (the rest of the mix keeps its proportions).
    const weight = (k: TaskKind) => (k === 'upload' && this.#o.queue.carriesDataStreams === false ? 0 : this.#t.mix[k]);
    const total = TASK_KINDS.reduce((n, k) => n + weight(k), 0);
    if (total <= 0) return 'health';
    let x = this.#random() * total;
    for (const k of TASK_KINDS) {
      x -= weight(k);
      if (x < 0) return k;
    }
    return 'health';
  }

  /** Stop queueing; tasks stop at their next step, queued ones are canceled. Outstanding requests stay in the queue. */
  stop(): void {
    this.#stop.abort();
    this.#runner.stop();
    if (this.#timer) clearInterval(this.#timer);
    for (const t of this.#slices) clearTimeout(t);
    this.#slices.clear();
    this.#timer = null;
  }

  /** Probes and tasks started and not finished. */
  get inFlight(): number {
    return this.#running.size;
  }

  /** One round now: every registered machine topped up with tasks, unless paused. */
  tick(): void {
    if (this.#o.isPaused() || this.#stop.signal.aborted) return;
    for (const m of this.#o.registry.subscriptions()) this.#topUp(m.subscriptionId);
  }

  /**
   * Queue a task of `kind` on this node for these machines (a health check covers them all,
   * in parallel, as an Octopus health check does); it runs under the task cap.
   */
  startTask(kind: TaskKind, subscriptions: string[], o: { machineIds?: string[] } = {}): ServerTaskRecord {
    for (const s of subscriptions) this.#active.set(s, (this.#active.get(s) ?? 0) + 1);
    const body: TaskBody = async (ctx) => {
      try {
        const io = this.#io(ctx.record, ctx.canceled);
        const results = await Promise.all(subscriptions.map((s) => this.#runKind(kind, io, s, ctx.record.id)));
        if (ctx.canceled()) return { state: 'Canceled', errorMessage: 'the node stopped' };
        const failure = results.find((r) => !r.ok);
        return failure && !failure.ok ? { state: 'Failed', errorMessage: failure.message } : { state: 'Success' };
      } finally {
        for (const s of subscriptions) {
          const n = (this.#active.get(s) ?? 1) - 1;
          if (n <= 0) this.#active.delete(s);
          else this.#active.set(s, n);
        }
      }
    };
    const record = this.#runner.start(kind, subscriptions, body, o.machineIds ? { machineIds: o.machineIds } : {});
    const done = this.#runner.finished(record.id);
    this.#running.add(done);
    void done.finally(() => this.#running.delete(done));
    return record;
  }

  async #runKind(kind: TaskKind, io: StepIo, subscription: string, taskId: string): Promise<StepResult> {
    const timeoutText = formatTimeSpan(this.#o.endpoint.pollingRequestQueueTimeoutMs);
    const b = this.#o.settings;
    if (kind === 'upload') return uploadPackage(io, subscription, taskId, this.#t.uploadBytes, timeoutText);
    if (kind === 'health') {
      const at = this.#capabilitiesAt.get(subscription);
      if (at === undefined || now() - at >= this.#t.capabilitiesCacheMs) {
        const caps = await getCapabilities(io, subscription, timeoutText);
        if (!caps.ok) return caps;
        this.#capabilitiesAt.set(subscription, now());
      }
      return runScript(io, subscription, `${taskId}-${this.#nextTask++}`, HEALTH_SCRIPT_BODY, b, timeoutText);
    }
    const body = `sleep ${(this.#t.scriptDurationMs / 1000).toFixed(3).replace(/\.?0+$/, '')}`;
    return runScript(io, subscription, `${taskId}-${this.#nextTask++}`, body, b, timeoutText);
  }

  /** The task's requests: queued on this node, counted on its record. */
  #io(record: ServerTaskRecord | null, canceled: () => boolean): StepIo {
    const stopped = () => canceled() || this.#stop.signal.aborted;
    return {
      send: async (subscription, service, method, params, streams) => {
        if (record) {
          record.requests++;
          if (record.calls.length < MAX_CALLS_RECORDED) record.calls.push(`${service}::${method}`);
        }
        const outcome = await this.#send(subscription, service, method, params, streams);
        if (record && outcome.outcome === 'expired') record.expired++;
        return outcome;
      },
      sleep: (ms) => (stopped() ? Promise.resolve(false) : this.#sleep(ms)),
      stopped,
    };
  }

  /** Queue one bare request sequence for a subscription now (whether or not anyone polls it) and resolve with how it went. */
  probe(subscription: string, kind: ProbeKind = 'capabilities'): Promise<ProbeResult> {
    const p = kind === 'script' ? this.#script(subscription) : this.#capabilities(subscription);
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
    return p;
  }

  async #capabilities(subscription: string): Promise<ProbeResult> {
    const r = await getCapabilities(this.#io(null, () => false), subscription, formatTimeSpan(this.#o.endpoint.pollingRequestQueueTimeoutMs));
    return { kind: 'capabilities', subscription, requests: 1, outcome: r.outcome };
  }

  async #script(subscription: string): Promise<ProbeResult> {
    const timeoutText = formatTimeSpan(this.#o.endpoint.pollingRequestQueueTimeoutMs);
    const r = await runScript(this.#io(null, () => false), subscription, `ServerTasks-${this.#nextTask++}`, HEALTH_SCRIPT_BODY, this.#o.settings, timeoutText);
    const outcome: QueueOutcome = !r.ok && r.outcome.outcome === 'answered' && !r.outcome.response.error && r.message.includes('GetStatus calls')
      ? { outcome: 'failed', errorKind: 'internal', message: r.message }
      : r.outcome;
    return { kind: 'script', subscription, requests: r.requests, outcome };
  }

  #send(subscription: string, service: string, method: string, params: unknown[], streams?: OutgoingDataStream[]): Promise<QueueOutcome> {
    const key = this.#nextKey++;
    const activity = Guid.random();
    const request: RequestMessage = {
      id: requestId(service, method, key, activity),
      activityId: activity,
      endpoint: serviceEndPoint(subscription, this.#thumbprintOf(subscription), this.#o.endpoint),
      service,
      method,
      params,
    };
    return this.#o.queue.enqueue(
      { key, owner: this.#o.nodeName, subscription, request, enqueuedAt: now(), ...(streams?.length ? { streams } : {}) },
      this.#o.endpoint.pollingRequestQueueTimeoutMs,
    );
  }

  #thumbprintOf(subscription: string): string | null {
    for (const m of this.#o.registry.subscriptions()) if (m.subscriptionId === subscription) return m.thumbprint;
    return null;
  }

  /** false when stopped meanwhile. */
  #sleep(ms: number): Promise<boolean> {
    const signal = this.#stop.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
