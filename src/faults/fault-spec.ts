/**
 * The fields every resolved fault has, whatever its kind, and what it can target. A
 * resolved fault (FaultSpec, src/faults/fault-registry.ts) is these fields and its kind's
 * own parameters.
 */

/** The kinds of thing a fault can name as its target. */
export const FAULT_TARGET_KINDS = ['node', 'balancer-target', 'balancer', 'route', 'redis'] as const;
export type FaultTargetKind = (typeof FAULT_TARGET_KINDS)[number];

/** What a fault acts on. */
export type FaultTarget =
  | { kind: 'node'; node: string }
  /** One target of the layer-4 balancer (its registration, health, flows). */
  | { kind: 'balancer-target'; node: string }
  /** The balancer as a whole (idle timeout, every flow). */
  | { kind: 'balancer' }
  /** Every polling connection (through the fault proxies). */
  | { kind: 'route' }
  /** The redis-server of the embedded cluster's Redis queue (cluster.queue: redis without redisUrl). */
  | { kind: 'redis' };

/** The fields every resolved fault has, whatever its kind. */
export interface FaultBase<K extends string = string> {
  /** As written, or `action@target` (`#2`, `#3` ... when repeated). */
  name: string;
  action: K;
  target: FaultTarget;
  /** The target as written (`node2`, `balancer:node2`, `balancer`, `route`). */
  targetText: string;
  /** From the start of the steady phase. */
  atMs: number;
  /** Undone after this long; null = not undone within the run (or an instantaneous action). */
  forMs: number | null;
}

/** A resolved fault of one kind: the shared fields and that kind's own parameters, defaults filled in. */
export type ResolvedFault<K extends string, P extends object> = FaultBase<K> & P;

/** Who a fault hits, in words: the node, every polling connection, or the balancer. */
export function faultSubject(f: FaultBase): string {
  if (f.target.kind === 'node' || f.target.kind === 'balancer-target') return f.target.node;
  if (f.target.kind === 'redis') return 'Redis';
  return f.target.kind === 'route' ? 'every polling connection' : 'the balancer';
}

/** The node a fault hits; null = every node (route, balancer). */
export function faultNode(f: FaultBase): string | null {
  return f.target.kind === 'node' || f.target.kind === 'balancer-target' ? f.target.node : null;
}
