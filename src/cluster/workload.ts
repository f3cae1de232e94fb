import { setMaxListeners } from 'node:events';
import { now } from '../core/clock.js';
import { WORKLOAD_DEFAULTS } from '../scenario/defaults.js';
import {
  Guid,
  SCRIPT_STATE_COMPLETE,
  SERVICE_CAPABILITIES_V2,
  SERVICE_SCRIPT_V2,
  TYPE_COMPLETE_SCRIPT_COMMAND_V2,
  TYPE_SCRIPT_STATUS_REQUEST_V2,
  TYPE_SCRIPT_TICKET,
  TYPE_START_SCRIPT_COMMAND_V2,
  formatTimeSpan,
  requestId,
  serviceEndPoint,
  type EndpointTimeouts,
  type RequestMessage,
} from '../halibut/index.js';
import type { MachineRegistry } from './machine-registry.js';
import type { QueueOutcome, WorkQueue } from './work-queue.js';

/** .NET's Timeout.InfiniteTimeSpan (-1 ms), the script isolation mutex timeout Octopus sends. */
const INFINITE_TIMESPAN = formatTimeSpan(-1);
const SCRIPT_BODY = 'echo hello';

export type ProbeKind = 'capabilities' | 'script';

export interface WorkloadSettings {
  /** One probe per registered machine this often. */
  intervalMs: number;
  /** Share of probes that are a script sequence instead of GetCapabilities (0..1). */
  scriptShare: number;
  enabled: boolean;
  scriptStatusBackoffMinMs: number;
  scriptStatusBackoffFactor: number;
  scriptStatusBackoffMaxMs: number;
  scriptStatusMaxPolls: number;
}

export interface WorkloadOptions {
  nodeName: string;
  queue: WorkQueue;
  registry: MachineRegistry;
  settings: WorkloadSettings;
  /** ServiceEndPoint fields of every request; `pollingRequestQueueTimeoutMs` is also the collection timeout. */
  endpoint: EndpointTimeouts;
  isPaused: () => boolean;
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
 * The work a node queues: on every tick one probe per registered machine -- GetCapabilities,
 * or (share `scriptShare`) a StartScript -> GetStatus... -> CompleteScript sequence, polling
 * GetStatus with the caller's back-off until the script is complete. Paused while the node
 * drains. Each request is one QueueItem owned by this node.
 */
export class Workload {
  readonly #o: WorkloadOptions;
  readonly #random: () => number;
  readonly #stop = new AbortController();
  readonly #running = new Set<Promise<ProbeResult>>();
  #timer: NodeJS.Timeout | null = null;
  readonly #slices = new Set<NodeJS.Timeout>();
  #nextKey = 1;
  #nextTask = 1;

  constructor(o: WorkloadOptions) {
    // One signal watched by every connection (thousands): not a leak.
    setMaxListeners(0, this.#stop.signal);
    this.#o = o;
    this.#random = o.random ?? Math.random;
  }

  /** Start the periodic probes (no-op when disabled). */
  start(): void {
    if (!this.#o.settings.enabled || this.#timer || this.#stop.signal.aborted) return;
    this.#timer = setInterval(() => this.#spreadRound(), this.#o.settings.intervalMs);
  }

  /**
   * One periodic round, spread over the interval: slice k of the machines is probed at
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
        for (let i = k; i < machines.length; i += slices) this.#probeOne(machines[i]!.subscriptionId);
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

  #probeOne(subscription: string): void {
    const kind: ProbeKind = this.#random() < this.#o.settings.scriptShare ? 'script' : 'capabilities';
    void this.probe(subscription, kind);
  }

  /** Stop queueing; script sequences stop at their next step. Outstanding requests stay in the queue. */
  stop(): void {
    this.#stop.abort();
    if (this.#timer) clearInterval(this.#timer);
    for (const t of this.#slices) clearTimeout(t);
    this.#slices.clear();
    this.#timer = null;
  }

  /** Probes started and not finished. */
  get inFlight(): number {
    return this.#running.size;
  }

  /** One round: a probe for every registered machine, unless paused. */
  tick(): void {
    if (this.#o.isPaused() || this.#stop.signal.aborted) return;
    for (const m of this.#o.registry.subscriptions()) this.#probeOne(m.subscriptionId);
  }

  /** Queue one probe for a subscription now (whether or not anyone polls it) and resolve with how it went. */
  probe(subscription: string, kind: ProbeKind = 'capabilities'): Promise<ProbeResult> {
    const p = kind === 'script' ? this.#script(subscription) : this.#capabilities(subscription);
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
    return p;
  }

  async #capabilities(subscription: string): Promise<ProbeResult> {
    const outcome = await this.#send(subscription, SERVICE_CAPABILITIES_V2, 'GetCapabilities', []);
    return { kind: 'capabilities', subscription, requests: 1, outcome };
  }

  async #script(subscription: string): Promise<ProbeResult> {
    const s = this.#o.settings;
    const taskId = `ServerTasks-${this.#nextTask++}`;
    const ticket = { $type: TYPE_SCRIPT_TICKET, TaskId: taskId };
    let requests = 1;
    let outcome = await this.#send(subscription, SERVICE_SCRIPT_V2, 'StartScript', [
      {
        $type: TYPE_START_SCRIPT_COMMAND_V2,
        ScriptBody: SCRIPT_BODY,
        Isolation: 0,
        ScriptIsolationMutexTimeout: INFINITE_TIMESPAN,
        IsolationMutexName: 'RunningScript',
        Arguments: [],
        TaskId: taskId,
        ScriptTicket: ticket,
        DurationToWaitForScriptToFinish: null,
        Scripts: {},
        Files: [],
      },
    ]);
    const done = () => ({ kind: 'script' as const, subscription, requests, outcome });
    let status = statusOf(outcome);
    let delayMs = s.scriptStatusBackoffMinMs;
    for (let polls = 0; status && status.state !== SCRIPT_STATE_COMPLETE; polls++) {
      if (polls >= s.scriptStatusMaxPolls) {
        return { ...done(), outcome: { outcome: 'failed', errorKind: 'internal', message: `the script was not complete after ${polls} GetStatus calls` } };
      }
      if (!(await this.#sleep(delayMs))) return done();
      delayMs = Math.min(s.scriptStatusBackoffMaxMs, delayMs * s.scriptStatusBackoffFactor);
      requests++;
      outcome = await this.#send(subscription, SERVICE_SCRIPT_V2, 'GetStatus', [
        { $type: TYPE_SCRIPT_STATUS_REQUEST_V2, Ticket: ticket, LastLogSequence: status.nextLogSequence },
      ]);
      status = statusOf(outcome);
    }
    if (!status || this.#stop.signal.aborted) return done();
    requests++;
    outcome = await this.#send(subscription, SERVICE_SCRIPT_V2, 'CompleteScript', [
      { $type: TYPE_COMPLETE_SCRIPT_COMMAND_V2, Ticket: ticket, LastLogSequence: status.nextLogSequence },
    ]);
    return done();
  }

  #send(subscription: string, service: string, method: string, params: unknown[]): Promise<QueueOutcome> {
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
      { key, owner: this.#o.nodeName, subscription, request, enqueuedAt: now() },
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

/** The script state and log position of an answered StartScript / GetStatus, or null when it failed. */
function statusOf(o: QueueOutcome): { state: number; nextLogSequence: bigint } | null {
  if (o.outcome !== 'answered' || o.response.error) return null;
  const r = o.response.result as { State?: unknown; NextLogSequence?: unknown } | null;
  if (!r || typeof r !== 'object' || typeof r.State !== 'number') return null;
  const seq = r.NextLogSequence;
  const nextLogSequence = typeof seq === 'bigint' ? seq : typeof seq === 'number' ? BigInt(Math.trunc(seq)) : 0n;
  return { state: r.State, nextLogSequence };
}
