import { PollfleetError } from '../core/errors.js';
import type { ToxicKind, ToxicParams } from '../network/toxics/toxic.js';
import type { FaultBase } from './fault-spec.js';

/*
 * What faults may act on, as narrow interfaces: the real classes (EmbeddedCluster,
 * NlbSimulator, FaultProxy) satisfy them where the run builds the context
 * (src/faults/fault-run.ts), and tests pass fakes. The definitions stay free of the classes
 * themselves, so the scenario schema can read them without loading the cluster.
 */

/** What node faults use of the embedded cluster. */
export interface FaultCluster {
  /** SIGKILL the node's process. */
  crash(node: string): void;
  /** SIGSTOP (true) or SIGCONT (false) the node's process. */
  hang(node: string, on: boolean): void;
  /** Graceful stop. */
  stopNode(node: string): Promise<void>;
  /** Start a crashed or stopped node on the same ports. */
  startNode(node: string): Promise<unknown>;
  setDraining(node: string, on: boolean): void;
}

/** What balancer faults use of the layer-4 balancer simulator. */
export interface FaultBalancer {
  deregister(node: string): void;
  register(node: string): void;
  setHealth(node: string, isHealthy: boolean): void;
  /** Silently drop one target's flows (or every flow when node is undefined). */
  blackhole(node: string | undefined, isOn: boolean): void;
  /** RST one target's flows (or every flow); returns how many. */
  resetAll(node?: string): number;
  readonly idleTimeoutMs: number;
  setIdleTimeout(ms: number): void;
}

/** What network faults use of one fault proxy. */
export interface FaultProxyControl {
  addToxic(kind: ToxicKind, params: ToxicParams, options: { direction: 'upstream' | 'downstream' | 'both'; share: number }): number;
  removeToxic(id: number): void;
  /** RST a share of the open connections now; returns how many. */
  resetConnections(share?: number): number;
}

/** What network faults use of the fault proxies in front of the nodes. */
export interface FaultProxyTargets {
  /** The proxies a fault acts on (one node's, or all for `route`). */
  targets(f: Pick<FaultBase, 'target'>): FaultProxyControl[];
}

/**
 * What Redis faults use of the redis-server the embedded cluster starts for its Redis queue
 * (src/cluster/redis/redis-server.ts), and the fault proxy between the nodes and it.
 */
export interface FaultRedis {
  /** Kill and start again on the same port: every key is gone (no persistence). */
  restart(): Promise<void>;
  /** SIGKILL it. */
  kill(): Promise<void>;
  /** Start it again after kill. */
  start(): Promise<void>;
  /** SIGSTOP (true) / SIGCONT (false). */
  pause(on: boolean): void;
  /** The fault proxy every node reaches Redis through. */
  readonly proxy: FaultProxyControl;
}

/** What a fault can act on in a running environment. */
export interface FaultContext {
  cluster: FaultCluster;
  /** The layer-4 balancer simulator in the path, if any. */
  balancer: FaultBalancer | null;
  /** Fault proxies in front of the nodes, when the scenario has network faults. */
  proxies: FaultProxyTargets | null;
  /** The embedded cluster's own redis-server, when it started one. */
  redis?: FaultRedis | null;
  /** Per-fault state a kind keeps between apply and revert (toxic ids, an old setting), keyed by the spec. */
  state: Map<object, unknown>;
  log(line: string): void;
}

/**
 * A fault could not act: what it needs is not in the path (no balancer simulator, no fault
 * proxy) or its target is not of the kind it acts on. Carries the fault's name, kind and
 * target as data; the timeline reports it on the fault (the run goes on).
 */
export class FaultError extends PollfleetError {
  readonly fault: string;
  readonly action: string;
  readonly target: string;
  constructor(f: FaultBase, message: string) {
    super('fault.unavailable', `${f.name}: ${message}`);
    this.fault = f.name;
    this.action = f.action;
    this.target = f.targetText;
  }
}

/** The node a node fault names (the validation guarantees node targets for node kinds). */
export function targetNode(f: FaultBase): string {
  if (f.target.kind === 'node' || f.target.kind === 'balancer-target') return f.target.node;
  throw new FaultError(f, 'expected a node target');
}

/** The balancer simulator, or a typed error (the validation checks the route up front). */
export function balancerOf(f: FaultBase, ctx: FaultContext): FaultBalancer {
  if (!ctx.balancer) throw new FaultError(f, 'no layer-4 balancer simulator in the path');
  return ctx.balancer;
}

/** The embedded redis-server, or a typed error (the validation checks the scenario up front). */
export function redisOf(f: FaultBase, ctx: FaultContext): FaultRedis {
  if (!ctx.redis) throw new FaultError(f, 'no redis-server started by pollfleet (cluster.queue: redis without cluster.redisUrl)');
  return ctx.redis;
}

/** The fault proxies a network fault acts on, or a typed error. */
export function proxiesOf(f: FaultBase, ctx: FaultContext): ReturnType<FaultProxyTargets['targets']> {
  if (!ctx.proxies) throw new FaultError(f, 'no fault proxy in the path');
  return ctx.proxies.targets(f);
}
