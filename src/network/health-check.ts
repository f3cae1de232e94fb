import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { PollfleetError } from '../core/errors.js';

/** How a target group probes its targets (resolved: every field set). */
export interface HealthCheckSpec {
  protocol: 'tcp' | 'http' | 'https';
  /** Probe port; undefined = the target's traffic port. */
  port: number | undefined;
  /** HTTP(S) only, e.g. PING_PATH. */
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive successes that make an unhealthy target healthy. */
  healthyThreshold: number;
  /** Consecutive failures that make a healthy target unhealthy. */
  unhealthyThreshold: number;
  /** AWS matcher syntax: `200`, `200,202`, `200-399`. */
  successCodes: string;
}

/** Per-target overrides (e.g. the polling port is the traffic port, the REST API answers the ping). */
export interface TargetHealthCheckOverride {
  protocol?: 'tcp' | 'http' | 'https';
  host?: string;
  port?: number;
  path?: string;
}

/** What the checker needs to know of a target; it writes nothing back but through `onResult`. */
export interface HealthCheckSubject {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly healthCheck?: TargetHealthCheckOverride | undefined;
  readonly isHealthy: boolean;
}

export interface ProbeResult {
  ok: boolean;
  /** `status 200`, `connected`, `status 418`, `timeout`, `ECONNREFUSED` ... */
  detail: string;
}

/** Parse an AWS success-code matcher into a predicate; throws input.invalid naming the text. */
export function parseSuccessCodes(text: string): (status: number) => boolean {
  const ranges: Array<[number, number]> = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(part);
    if (!m) {
      throw new PollfleetError('input.invalid', `health check successCodes "${text}": expected codes like "200", "200,202" or "200-399"`);
    }
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new PollfleetError('input.invalid', `health check successCodes "${text}": range ${lo}-${hi} is reversed`);
    ranges.push([lo, hi]);
  }
  return (status) => ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => finish({ ok: false, detail: 'timeout' }), timeoutMs);
    function finish(r: ProbeResult): void {
      clearTimeout(timer);
      socket.removeAllListeners('connect');
      socket.on('error', () => {});
      socket.destroy();
      resolve(r);
    }
    socket.once('connect', () => finish({ ok: true, detail: 'connected' }));
    socket.once('error', (e: NodeJS.ErrnoException) => finish({ ok: false, detail: e.code ?? e.message }));
  });
}

function probeHttp(
  protocol: 'http' | 'https',
  host: string,
  port: number,
  path: string,
  timeoutMs: number,
  isSuccess: (status: number) => boolean,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const options: https.RequestOptions = { host, port, path, method: 'GET', agent: false, headers: { 'user-agent': 'pollfleet-health-check' } };
    if (protocol === 'https') options.rejectUnauthorized = false;
    const req = (protocol === 'https' ? https : http).request(options, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish({ ok: isSuccess(status), detail: `status ${status}` });
    });
    const timer = setTimeout(() => finish({ ok: false, detail: 'timeout' }), timeoutMs);
    function finish(r: ProbeResult): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    }
    req.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, detail: e.code ?? e.message }));
    req.end();
  });
}

/** One probe of one target as the spec (and the target's overrides) say. */
export function probeTarget(spec: HealthCheckSpec, subject: HealthCheckSubject, isSuccess: (status: number) => boolean): Promise<ProbeResult> {
  const o = subject.healthCheck;
  const protocol = o?.protocol ?? spec.protocol;
  const host = o?.host ?? subject.host;
  const port = o?.port ?? spec.port ?? subject.port;
  if (protocol === 'tcp') return probeTcp(host, port, spec.timeoutMs);
  return probeHttp(protocol, host, port, o?.path ?? spec.path, spec.timeoutMs, isSuccess);
}

/**
 * Probes every target of a group each interval and applies the thresholds: `onChange` is
 * called when a target crosses one. A probe still in flight is not started again.
 */
export class HealthChecker<T extends HealthCheckSubject> {
  readonly #spec: HealthCheckSpec;
  readonly #isSuccess: (status: number) => boolean;
  readonly #targets: readonly T[];
  readonly #onChange: (target: T, isHealthy: boolean, detail: string) => void;
  readonly #streak = new Map<T, { ok: number; fail: number; inFlight: boolean }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(spec: HealthCheckSpec, targets: readonly T[], onChange: (target: T, isHealthy: boolean, detail: string) => void) {
    for (const [field, v] of [['intervalMs', spec.intervalMs], ['timeoutMs', spec.timeoutMs], ['healthyThreshold', spec.healthyThreshold], ['unhealthyThreshold', spec.unhealthyThreshold]] as const) {
      if (!(Number.isFinite(v) && v > 0)) throw new PollfleetError('input.invalid', `health check ${field}: expected a number > 0, got ${v}`);
    }
    this.#spec = spec;
    this.#isSuccess = parseSuccessCodes(spec.successCodes);
    this.#targets = targets;
    this.#onChange = onChange;
    for (const t of targets) this.#streak.set(t, { ok: 0, fail: 0, inFlight: false });
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.#spec.intervalMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Forget the streak of a target whose health was set by hand. */
  resetStreak(target: T): void {
    const s = this.#streak.get(target);
    if (s) { s.ok = 0; s.fail = 0; }
  }

  #tick(): void {
    for (const t of this.#targets) {
      const s = this.#streak.get(t)!;
      if (s.inFlight) continue;
      s.inFlight = true;
      void probeTarget(this.#spec, t, this.#isSuccess).then((r) => {
        s.inFlight = false;
        if (!this.#timer) return;
        if (r.ok) {
          s.fail = 0;
          s.ok++;
          if (!t.isHealthy && s.ok >= this.#spec.healthyThreshold) this.#onChange(t, true, r.detail);
        } else {
          s.ok = 0;
          s.fail++;
          if (t.isHealthy && s.fail >= this.#spec.unhealthyThreshold) this.#onChange(t, false, r.detail);
        }
      });
    }
  }
}
