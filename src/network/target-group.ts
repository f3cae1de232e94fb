import { PollfleetError } from '../core/errors.js';
import { HealthChecker, parseSuccessCodes, type HealthCheckSpec, type HealthCheckSubject, type TargetHealthCheckOverride } from './health-check.js';

/** One back end: a node's polling port (NLB) or REST API (ALB). */
export interface TargetSpec {
  name: string;
  host: string;
  port: number;
  /** Probe something else than the traffic port (e.g. the node's REST API ping). */
  healthCheck?: TargetHealthCheckOverride;
}

export type InitialHealth = 'healthy' | 'unhealthy';
/** `reset`: an unhealthy target's flows get an RST on their next packet (AWS default); `drain`: they continue. */
export type UnhealthyTermination = 'reset' | 'drain';
export type Stickiness = 'none' | 'source-ip';

/** A target group as a scenario writes it; unset fields take the balancer's defaults. */
export interface TargetGroupOptions<T extends TargetSpec = TargetSpec> {
  name: string;
  targets: T[];
  /** Probe settings; omitted = no probes (health then changes only by `setHealth`). */
  healthCheck?: Partial<HealthCheckSpec>;
  /** Health before the first probes decide (default healthy, so a run starts at once). */
  initialHealth?: InitialHealth;
  deregistrationDelayMs?: number;
  /** Reset a deregistered target's remaining flows when the delay ends (default off). */
  deregistrationTermination?: boolean;
  unhealthyTermination?: UnhealthyTermination;
  stickiness?: Stickiness;
}

/** A balancer's defaults for its target groups (NLB_DEFAULTS / ALB_DEFAULTS plus protocol and matcher). */
export interface TargetGroupDefaults {
  healthCheckProtocol: HealthCheckSpec['protocol'];
  healthCheckPath: string;
  healthCheckIntervalMs: number;
  healthCheckTimeoutMs: number;
  /** Timeout for HTTP(S) probes when it differs (NLB: 6 s instead of 10 s). */
  healthCheckHttpTimeoutMs?: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  successCodes: string;
  deregistrationDelayMs: number;
}

export function resolveHealthCheck(o: Partial<HealthCheckSpec>, d: TargetGroupDefaults): HealthCheckSpec {
  const protocol = o.protocol ?? d.healthCheckProtocol;
  const spec: HealthCheckSpec = {
    protocol,
    port: o.port,
    path: o.path ?? d.healthCheckPath,
    intervalMs: o.intervalMs ?? d.healthCheckIntervalMs,
    timeoutMs: o.timeoutMs ?? (protocol !== 'tcp' && d.healthCheckHttpTimeoutMs !== undefined ? d.healthCheckHttpTimeoutMs : d.healthCheckTimeoutMs),
    healthyThreshold: o.healthyThreshold ?? d.healthyThreshold,
    unhealthyThreshold: o.unhealthyThreshold ?? d.unhealthyThreshold,
    successCodes: o.successCodes ?? d.successCodes,
  };
  parseSuccessCodes(spec.successCodes);
  return spec;
}

/** `registered` takes new flows; `draining` keeps its flows during the deregistration delay; `unused` is out. */
export type RegistrationState = 'registered' | 'draining' | 'unused';

/** A target at run time. */
export class Target<T extends TargetSpec = TargetSpec> implements HealthCheckSubject {
  readonly spec: T;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly healthCheck: TargetHealthCheckOverride | undefined;
  isHealthy: boolean;
  state: RegistrationState = 'registered';
  /** Fault: data to and from this target is dropped, nothing closes. */
  isBlackholed = false;
  deregistrationTimer: NodeJS.Timeout | undefined;

  constructor(spec: T, isHealthy: boolean) {
    this.spec = spec;
    this.name = spec.name;
    this.host = spec.host;
    this.port = spec.port;
    this.healthCheck = spec.healthCheck;
    this.isHealthy = isHealthy;
  }
}

export interface TargetGroupListener<T extends TargetSpec> {
  healthChanged(target: Target<T>, isHealthy: boolean, detail: string): void;
  /** The deregistration delay of a target ended (it is now `unused`). */
  deregistrationEnded(target: Target<T>): void;
}

/**
 * Targets, their health and registration, and the set new flows may go to: healthy
 * registered targets, or every registered target when none is healthy (fail-open).
 * The set is recomputed on change only, so choosing a target is one modulo.
 */
export class TargetGroup<T extends TargetSpec = TargetSpec> {
  readonly name: string;
  readonly targets: readonly Target<T>[];
  readonly deregistrationDelayMs: number;
  readonly isDeregistrationTermination: boolean;
  readonly unhealthyTermination: UnhealthyTermination;
  readonly stickiness: Stickiness;
  readonly healthCheck: HealthCheckSpec | undefined;
  #eligible: Target<T>[] = [];
  #isFailOpen = false;
  readonly #checker: HealthChecker<Target<T>> | undefined;
  readonly #listener: TargetGroupListener<T>;
  readonly #byName = new Map<string, Target<T>>();

  constructor(o: TargetGroupOptions<T>, defaults: TargetGroupDefaults, listener: TargetGroupListener<T>) {
    if (!o.name) throw new PollfleetError('input.invalid', 'target group: name is required');
    if (o.targets.length === 0) throw new PollfleetError('input.invalid', `target group ${o.name}: at least one target is required`);
    this.name = o.name;
    const initial = (o.initialHealth ?? 'healthy') === 'healthy';
    this.targets = o.targets.map((s) => new Target(s, initial));
    for (const t of this.targets) {
      if (this.#byName.has(t.name)) throw new PollfleetError('input.invalid', `target group ${o.name}: target name "${t.name}" is used twice`);
      if (!Number.isInteger(t.port) || t.port <= 0 || t.port > 65535) {
        throw new PollfleetError('input.invalid', `target group ${o.name}: target ${t.name} port: expected 1-65535, got ${t.port}`);
      }
      this.#byName.set(t.name, t);
    }
    this.deregistrationDelayMs = o.deregistrationDelayMs ?? defaults.deregistrationDelayMs;
    if (!(this.deregistrationDelayMs >= 0)) {
      throw new PollfleetError('input.invalid', `target group ${o.name} deregistrationDelayMs: expected a number >= 0, got ${this.deregistrationDelayMs}`);
    }
    this.isDeregistrationTermination = o.deregistrationTermination ?? false;
    this.unhealthyTermination = o.unhealthyTermination ?? 'reset';
    this.stickiness = o.stickiness ?? 'none';
    this.#listener = listener;
    this.healthCheck = o.healthCheck === undefined ? undefined : resolveHealthCheck(o.healthCheck, defaults);
    this.#checker = this.healthCheck === undefined
      ? undefined
      : new HealthChecker(this.healthCheck, this.targets, (t, ok, detail) => this.#setHealth(t, ok, detail));
    this.#recompute();
  }

  start(): void {
    this.#checker?.start();
  }

  stop(): void {
    this.#checker?.stop();
    for (const t of this.targets) {
      if (t.deregistrationTimer) clearTimeout(t.deregistrationTimer);
      t.deregistrationTimer = undefined;
    }
  }

  get(name: string): Target<T> {
    const t = this.#byName.get(name);
    if (!t) throw new PollfleetError('input.invalid', `target group ${this.name}: no target "${name}" (known: ${[...this.#byName.keys()].join(', ')})`);
    return t;
  }

  find(name: string): Target<T> | undefined {
    return this.#byName.get(name);
  }

  /** Targets new flows may go to (fail-open included); empty when none is registered. */
  get eligible(): readonly Target<T>[] {
    return this.#eligible;
  }

  /** True when every registered target is unhealthy and traffic goes to all of them. */
  get isFailOpen(): boolean {
    return this.#isFailOpen;
  }

  /** The target for a new flow with this hash, or undefined when no target is registered. */
  pick(hash: number): Target<T> | undefined {
    const e = this.#eligible;
    return e.length === 0 ? undefined : e[hash % e.length];
  }

  /** Set health by hand (a fault or a test); the probes' streak starts over. */
  setHealth(name: string, isHealthy: boolean): void {
    const t = this.get(name);
    this.#checker?.resetStreak(t);
    if (t.isHealthy !== isHealthy) this.#setHealth(t, isHealthy, 'manual');
  }

  /** New flows stop at once; existing ones go on until the delay ends. */
  deregister(name: string): void {
    const t = this.get(name);
    if (t.state !== 'registered') return;
    t.state = 'draining';
    this.#recompute();
    t.deregistrationTimer = setTimeout(() => {
      t.deregistrationTimer = undefined;
      t.state = 'unused';
      this.#listener.deregistrationEnded(t);
    }, this.deregistrationDelayMs);
  }

  register(name: string): void {
    const t = this.get(name);
    if (t.deregistrationTimer) clearTimeout(t.deregistrationTimer);
    t.deregistrationTimer = undefined;
    if (t.state === 'registered') return;
    t.state = 'registered';
    this.#recompute();
  }

  #setHealth(t: Target<T>, isHealthy: boolean, detail: string): void {
    t.isHealthy = isHealthy;
    this.#recompute();
    this.#listener.healthChanged(t, isHealthy, detail);
  }

  #recompute(): void {
    const registered = this.targets.filter((t) => t.state === 'registered');
    const healthy = registered.filter((t) => t.isHealthy);
    this.#isFailOpen = healthy.length === 0 && registered.length > 0;
    this.#eligible = this.#isFailOpen ? registered : healthy;
  }
}
