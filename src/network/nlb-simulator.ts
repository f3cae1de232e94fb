import * as net from 'node:net';
import * as tls from 'node:tls';
import { now } from '../core/clock.js';
import { PollfleetError } from '../core/errors.js';
import { NLB_DEFAULTS, PING_PATH } from '../scenario/defaults.js';
import { Flow, FlowCounters, type FlowOwner, type FlowSide, type IdleBehaviour } from './flow.js';
import { flowHash, sourceIpHash } from './flow-hash.js';
import type { NetworkEvent, NetworkEventSink, ResetReason } from './network-event.js';
import { resetSocket } from './reset-socket.js';
import { TargetGroup, type RegistrationState, type Target, type TargetGroupDefaults, type TargetGroupOptions } from './target-group.js';
import { Lifecycle } from '../core/lifecycle.js';
import { listenAll, closeServer } from './listen.js';

/**
 * A TLS listener: the balancer terminates TLS with its own certificate and opens its own
 * connection to the target (TLS without a client certificate, or plain). This is what
 * breaks polling: the tentacle sees the balancer's certificate, the node never sees the
 * tentacle's.
 */
export interface NlbTlsListenerOptions {
  certPem: string;
  /** A secret: never logged. */
  keyPem: string;
  /** Default `tls`. */
  toTarget?: 'tls' | 'plain';
}

export interface NlbListenerOptions {
  /** 0 = chosen by the OS (see `ports` after start). */
  port: number;
  /** Name of a target group in `targetGroups`. */
  targetGroup: string;
  /** Omitted = TCP listener (bytes pass untouched, mutual TLS works end to end). */
  tls?: NlbTlsListenerOptions;
}

export interface NlbOptions {
  /** Name in events and stats (default `nlb`). */
  name?: string;
  /** Bind address, a loopback address such as 127.0.0.1 or 127.0.0.20 in tests. */
  host?: string;
  listeners: NlbListenerOptions[];
  targetGroups: TargetGroupOptions[];
  /** Default NLB_DEFAULTS.idleTimeoutMs (350 s); 0 = never. */
  idleTimeoutMs?: number;
  /** At idle expiry (src/network/flow.ts): reset-next-packet (AWS NLB, default), silent-drop (Azure), reset (Azure TCP reset). */
  onIdle?: IdleBehaviour;
  /** Seed of the flow hash (default 0): another seed, another (repeatable) spread. */
  hashSeed?: number;
  onEvent?: NetworkEventSink;
}

export interface NlbTargetStats {
  name: string;
  host: string;
  port: number;
  isHealthy: boolean;
  registration: RegistrationState;
  isBlackholed: boolean;
  /** Flows in the balancer's table. */
  activeConnections: number;
  /** Flows forgotten by idle expiry whose ends have not spoken since (both peers still think they are connected). */
  expiredFlows: number;
  totalConnections: number;
  resets: Record<ResetReason, number>;
}

export interface NlbListenerStats {
  port: number;
  targetGroup: string;
  isTls: boolean;
  isFailOpen: boolean;
  /** Connections reset at once because no target was registered. */
  refusedConnections: number;
  targets: NlbTargetStats[];
}

export interface NlbStats {
  name: string;
  idleTimeoutMs: number;
  listeners: NlbListenerStats[];
}

/** The NLB's target-group defaults. [LB] */
export const NLB_TARGET_GROUP_DEFAULTS: TargetGroupDefaults = {
  healthCheckProtocol: 'tcp',
  healthCheckPath: PING_PATH,
  healthCheckIntervalMs: NLB_DEFAULTS.healthCheckIntervalMs,
  healthCheckTimeoutMs: NLB_DEFAULTS.healthCheckTimeoutMs,
  healthCheckHttpTimeoutMs: NLB_DEFAULTS.healthCheckHttpTimeoutMs,
  healthyThreshold: NLB_DEFAULTS.healthyThreshold,
  unhealthyThreshold: NLB_DEFAULTS.unhealthyThreshold,
  successCodes: '200-399',
  deregistrationDelayMs: NLB_DEFAULTS.deregistrationDelayMs,
};

class NlbListener {
  readonly options: NlbListenerOptions;
  readonly group: TargetGroup;
  readonly server: net.Server;
  readonly secureContext: tls.SecureContext | undefined;
  readonly isTlsToTarget: boolean;
  readonly counters = new Map<Target, FlowCounters>();
  port = 0;
  refused = 0;

  constructor(options: NlbListenerOptions, group: TargetGroup, server: net.Server) {
    this.options = options;
    this.group = group;
    this.server = server;
    this.secureContext = options.tls ? tls.createSecureContext({ cert: options.tls.certPem, key: options.tls.keyPem }) : undefined;
    this.isTlsToTarget = options.tls !== undefined && (options.tls.toTarget ?? 'tls') === 'tls';
    for (const t of group.targets) this.counters.set(t, new FlowCounters());
  }
}

/**
 * An AWS NLB-like layer-4 balancer: per-connection flow hash pinned for the connection's
 * life, silent idle expiry followed by RST, target health checks with fail-open,
 * unhealthy-target reset or drain, deregistration delay, optional TLS listeners, and
 * fault hooks (resetAll, blackhole, setIdleTimeout).
 */
export class NlbSimulator extends Lifecycle<number[]> implements FlowOwner {
  readonly name: string;
  readonly host: string;
  isBlackholedAll = false;
  readonly #groups = new Map<string, TargetGroup>();
  readonly #listeners: NlbListener[] = [];
  readonly #flows = new Set<Flow>();
  readonly #flowsByTarget = new Map<Target, Set<Flow>>();
  readonly #handshaking = new Set<net.Socket>();
  readonly #seed: number;
  readonly #onEvent: NetworkEventSink | undefined;
  #idleTimeoutMs: number;
  readonly #onIdle: IdleBehaviour;
  #sequence = 0;

  constructor(o: NlbOptions) {
    super();
    this.name = o.name ?? 'nlb';
    this.host = o.host ?? '127.0.0.1';
    this.#seed = o.hashSeed ?? 0;
    this.#onEvent = o.onEvent;
    this.#idleTimeoutMs = checkIdle(o.idleTimeoutMs ?? NLB_DEFAULTS.idleTimeoutMs, `${this.name} idleTimeoutMs`);
    this.#onIdle = o.onIdle ?? 'reset-next-packet';
    if (o.listeners.length === 0) throw new PollfleetError('input.invalid', `${this.name}: at least one listener is required`);
    for (const g of o.targetGroups) {
      if (this.#groups.has(g.name)) throw new PollfleetError('input.invalid', `${this.name}: target group "${g.name}" is defined twice`);
      const group: TargetGroup = new TargetGroup(g, NLB_TARGET_GROUP_DEFAULTS, {
        healthChanged: (t, ok, detail) => this.#healthChanged(group, t, ok, detail),
        deregistrationEnded: (t) => this.#deregistrationEnded(group, t),
      });
      this.#groups.set(g.name, group);
      for (const t of group.targets) this.#flowsByTarget.set(t, new Set());
    }
    o.listeners.forEach((l, i) => {
      const group = this.#groups.get(l.targetGroup);
      if (!group) {
        throw new PollfleetError('input.invalid', `${this.name} listeners[${i}].targetGroup: no target group "${l.targetGroup}" (known: ${[...this.#groups.keys()].join(', ') || 'none'})`);
      }
      if (!Number.isInteger(l.port) || l.port < 0 || l.port > 65535) {
        throw new PollfleetError('input.invalid', `${this.name} listeners[${i}].port: expected 0-65535, got ${l.port}`);
      }
      const server = net.createServer({ allowHalfOpen: true, noDelay: true });
      const listener = new NlbListener(l, group, server);
      server.on('connection', (raw) => this.#accept(listener, raw));
      this.#listeners.push(listener);
    });
  }

  /** Listen on every listener; resolves with the actual ports, in the order of `listeners`. */
  protected async onStart(): Promise<number[]> {
    const ports = await listenAll(this.#listeners.map((l) => ({ server: l.server, port: l.options.port })), this.host, this.name);
    ports.forEach((p, i) => { this.#listeners[i]!.port = p; });
    for (const g of this.#groups.values()) g.start();
    return ports;
  }

  /** Stop listening, stop the probes, reset every flow. */
  protected async onStop(): Promise<void> {
    for (const g of this.#groups.values()) g.stop();
    for (const f of this.#flows) f.destroy();
    for (const s of this.#handshaking) resetSocket(s);
    await Promise.all(this.#listeners.map((l) => closeServer(l.server)));
  }

  /** Actual listener ports (after start), in the order of `listeners`. */
  get ports(): number[] {
    return this.#listeners.map((l) => l.port);
  }

  get idleTimeoutMs(): number {
    return this.#idleTimeoutMs;
  }

  /** Change the idle timeout of every listener, for new and existing flows (0 = never). */
  setIdleTimeout(ms: number): void {
    this.#idleTimeoutMs = checkIdle(ms, `${this.name} idleTimeoutMs`);
    for (const f of this.#flows) f.setIdleTimeout(ms);
  }

  /** Stop new flows to this target; existing ones go on for the deregistration delay. */
  deregister(targetName: string): void {
    for (const [g] of this.#named(targetName)) g.deregister(targetName);
  }

  register(targetName: string): void {
    for (const [g] of this.#named(targetName)) g.register(targetName);
  }

  /** Set a target's health by hand (as if its probes had crossed the threshold). */
  setHealth(targetName: string, isHealthy: boolean): void {
    for (const [g] of this.#named(targetName)) g.setHealth(targetName, isHealthy);
  }

  /** Fault: RST every flow now (of one target, or all). */
  resetAll(targetName?: string): number {
    let n = 0;
    const flows = targetName === undefined ? [...this.#flows] : this.#named(targetName).flatMap(([, t]) => [...this.#flowsByTarget.get(t)!]);
    for (const f of flows) {
      if (!f.isClosed) { f.reset('fault'); n++; }
    }
    return n;
  }

  /** Fault: data to and from one target (or every target) is dropped; nothing closes. */
  blackhole(targetName: string | undefined, isOn: boolean): void {
    if (targetName === undefined) {
      this.isBlackholedAll = isOn;
      return;
    }
    for (const [, t] of this.#named(targetName)) t.isBlackholed = isOn;
  }

  stats(): NlbStats {
    return {
      name: this.name,
      idleTimeoutMs: this.#idleTimeoutMs,
      listeners: this.#listeners.map((l) => ({
        port: l.port,
        targetGroup: l.group.name,
        isTls: l.options.tls !== undefined,
        isFailOpen: l.group.isFailOpen,
        refusedConnections: l.refused,
        targets: l.group.targets.map((t) => {
          const c = l.counters.get(t)!;
          return {
            name: t.name, host: t.host, port: t.port, isHealthy: t.isHealthy, registration: t.state, isBlackholed: t.isBlackholed,
            activeConnections: c.active, expiredFlows: c.expired, totalConnections: c.total, resets: { ...c.resets },
          };
        }),
      })),
    };
  }

  // ---------- FlowOwner ----------

  flowIdleExpired(flow: Flow): void {
    this.#emit({ type: 'flow-idle-expired', at: now(), balancer: this.name, listenerPort: flow.listenerPort, target: flow.target.name, idleTimeoutMs: this.#idleTimeoutMs });
  }

  flowReset(flow: Flow, reason: ResetReason): void {
    this.#emit({ type: 'flow-reset', at: now(), balancer: this.name, listenerPort: flow.listenerPort, target: flow.target.name, reason });
  }

  flowClosed(flow: Flow): void {
    this.#flows.delete(flow);
    this.#flowsByTarget.get(flow.target)?.delete(flow);
  }

  // ---------- internals ----------

  #accept(l: NlbListener, raw: net.Socket): void {
    if (this.isStopping) return resetSocket(raw);
    if (!l.secureContext) return this.#openFlow(l, { data: raw, raw });
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: l.secureContext });
    this.#handshaking.add(raw);
    const fail = (): void => {
      this.#handshaking.delete(raw);
      secure.destroy();
      raw.destroy();
    };
    raw.on('error', fail);
    secure.on('error', fail);
    secure.once('secure', () => {
      this.#handshaking.delete(raw);
      raw.off('error', fail);
      secure.off('error', fail);
      this.#openFlow(l, { data: secure, raw });
    });
  }

  #openFlow(l: NlbListener, client: FlowSide): void {
    const raw = client.raw;
    const group = l.group;
    const sourceIp = raw.remoteAddress ?? '';
    const hash = group.stickiness === 'source-ip'
      ? sourceIpHash(this.#seed, sourceIp)
      : flowHash(this.#seed, sourceIp, raw.remotePort ?? 0, raw.localAddress ?? '', raw.localPort ?? 0, ++this.#sequence);
    const target = group.pick(hash);
    if (!target) {
      l.refused++;
      raw.on('error', noop);
      resetSocket(raw);
      client.data.destroy();
      this.#emit({ type: 'flow-reset', at: now(), balancer: this.name, listenerPort: l.port, target: '', reason: 'no-target' });
      return;
    }
    const upRaw = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    const up = l.isTlsToTarget ? tls.connect({ socket: upRaw, rejectUnauthorized: false }) : upRaw;
    const flow = new Flow(client, { data: up, raw: upRaw }, target, l.port, l.counters.get(target)!, this, this.#idleTimeoutMs, this.#onIdle);
    this.#flows.add(flow);
    this.#flowsByTarget.get(target)!.add(flow);
  }

  #healthChanged(group: TargetGroup, t: Target, isHealthy: boolean, detail: string): void {
    this.#emit({ type: 'health-changed', at: now(), balancer: this.name, targetGroup: group.name, target: t.name, isHealthy, detail });
    if (group.unhealthyTermination !== 'reset') return;
    for (const f of this.#flowsByTarget.get(t)!) {
      if (isHealthy) f.clearPendingReset('unhealthy');
      else f.markForReset('unhealthy');
    }
  }

  #deregistrationEnded(group: TargetGroup, t: Target): void {
    if (!group.isDeregistrationTermination) return;
    for (const f of [...this.#flowsByTarget.get(t)!]) f.reset('deregistration');
  }

  #named(targetName: string): Array<[TargetGroup, Target]> {
    const found: Array<[TargetGroup, Target]> = [];
    for (const g of this.#groups.values()) {
      const t = g.find(targetName);
      if (t) found.push([g, t]);
    }
    if (found.length === 0) {
      const known = [...this.#groups.values()].flatMap((g) => g.targets.map((t) => t.name));
      throw new PollfleetError('input.invalid', `${this.name}: no target "${targetName}" (known: ${[...new Set(known)].join(', ')})`);
    }
    return found;
  }

  #emit(e: NetworkEvent): void {
    this.#onEvent?.(e);
  }
}

function checkIdle(ms: number, field: string): number {
  if (!(Number.isFinite(ms) && ms >= 0)) throw new PollfleetError('input.invalid', `${field}: expected a number of milliseconds >= 0, got ${ms}`);
  return ms;
}

function noop(): void {}
