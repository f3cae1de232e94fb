import type { EmbeddedCluster } from '../cluster/embedded-cluster.js';
import type { NlbSimulator } from '../network/nlb.js';
import type { FaultAction, FaultSpec } from './resolve-faults.js';
import type { FaultProxies } from './fault-proxies.js';

/** What a fault can act on in a running environment. */
export interface FaultContext {
  cluster: EmbeddedCluster;
  /** The layer-4 balancer simulator in the path, if any. */
  balancer: NlbSimulator | null;
  /** Fault proxies in front of the nodes, when the scenario has network faults. */
  proxies: FaultProxies | null;
  /** Per-fault state an action keeps between apply and revert (toxic ids, an old setting). */
  state: Map<FaultSpec, unknown>;
  log(line: string): void;
}

/**
 * One kind of fault: what it does, and what `for` undoes. Adding one: a file here, a line
 * in registry.ts, a schema entry in src/faults/fault-schema.ts, a test, a sample scenario.
 */
export interface FaultActionDefinition {
  action: FaultAction;
  /**
   * The target cannot be reached until the fault is undone (crash, hang, stop, blackhole):
   * recovery of a pair counts from the fault's end, not from the moment it noticed.
   */
  blocksTarget: boolean;
  apply(f: FaultSpec, ctx: FaultContext): void | Promise<void>;
  /** This action undoes an earlier fault of these actions on the same target (restart after crash ...): that fault ends here. */
  undoes?: readonly FaultAction[];
  /** What `for` runs when it expires; absent = nothing to undo (restart, reset ...). */
  revert?(f: FaultSpec, ctx: FaultContext): void | Promise<void>;
}

/** The node a node fault names (the schema guarantees node targets for node actions). */
export function targetNode(f: FaultSpec): string {
  if (f.target.kind === 'node' || f.target.kind === 'balancer-target') return f.target.node;
  throw new Error(`${f.name}: expected a node target`);
}

/** The balancer simulator, or a clear error (resolve-faults checks the route up front). */
export function balancerOf(f: FaultSpec, ctx: FaultContext): NlbSimulator {
  if (!ctx.balancer) throw new Error(`${f.name}: no layer-4 balancer simulator in the path`);
  return ctx.balancer;
}
