import type { z } from 'zod';
import type { FaultContext } from './fault-context.js';

/**
 * The contract every fault kind implements: one file per kind (src/faults/<kind>.ts), one
 * line in src/faults/fault-registry.ts. Validation, the timeline, the run, the analysis and
 * the stories read these definitions; nothing else switches on kind names. How to add a
 * kind: src/faults/README.md.
 */

/** The kinds of thing a fault can name as its target. */
export const FAULT_TARGET_KINDS = ['node', 'balancer-target', 'balancer', 'route'] as const;
export type FaultTargetKind = (typeof FAULT_TARGET_KINDS)[number];

/** What a fault acts on. */
export type FaultTarget =
  | { kind: 'node'; node: string }
  /** One target of the layer-4 balancer (its registration, health, flows). */
  | { kind: 'balancer-target'; node: string }
  /** The balancer as a whole (idle timeout, every flow). */
  | { kind: 'balancer' }
  /** Every polling connection (through the fault proxies). */
  | { kind: 'route' };

/**
 * What a fault needs from the scenario:
 * - `node-processes`: each node in its own process (real signals: SIGKILL, SIGSTOP);
 * - `balancer-simulator`: the layer-4 balancer simulator in the path (route single-address
 *   or nlb-unique-port, balancer simulator);
 * - `fault-proxy`: a fault proxy in front of the nodes (started by the run when needed).
 */
export type FaultCapability = 'node-processes' | 'balancer-simulator' | 'fault-proxy';

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

/** How a fault reads in its story (src/verdict/fault-story.ts). */
export interface FaultStoryWords {
  /** What happened, e.g. "node2 crashed (SIGKILL)". */
  what: string;
  /** What "back" means for recovery, e.g. "node2 returned" or "they noticed". */
  back: string;
  /** An extra sentence on how the fault can be noticed, given the receive timeout in words. */
  note?(receiveRequestTimeout: string): string;
}

export interface FaultDefinition<K extends string = string, S extends z.ZodObject = z.ZodObject, P extends object = object> {
  readonly kind: K;
  /**
   * Its own parameters as users write them: a strict object, without the shared fields
   * (name, at, target; `for` when the kind has a revert), which the registry adds.
   */
  readonly params: S;
  /** The parsed parameters with every default filled in: what the spec carries (nothing downstream needs `??`). */
  resolve(input: z.output<S>): P;
  /**
   * The target kinds it accepts, each with what it needs from the scenario there. A target
   * of another kind is a problem; a balancer or balancer-target always needs the simulator.
   */
  readonly targets: Partial<Record<FaultTargetKind, readonly FaultCapability[]>>;
  /** How a wrong target is explained ("changes the balancer's idle timeout"); default from the accepted targets. */
  readonly actsOn?: string;
  /**
   * The target cannot be reached until the fault is undone (crash, hang, stop, blackhole):
   * recovery of a pair counts from the fault's end, not from the moment it noticed.
   */
  readonly blocksTarget: boolean;
  /** Earlier faults of these kinds on the same target end when this one applies (restart after crash ...). */
  readonly undoes: readonly string[];
  /**
   * Requests still queued on the node when the fault ends are lost (the node process went
   * away and took its queue with it): crash and stop. The analysis counts them as expired.
   */
  readonly losesQueuedWork: boolean;
  apply(spec: ResolvedFault<K, P>, ctx: FaultContext): void | Promise<void>;
  /** What `for` runs when it expires; absent = nothing to undo (restart, reset ...) and `for` is not accepted. */
  revert?(spec: ResolvedFault<K, P>, ctx: FaultContext): void | Promise<void>;
  /** Its parameters in plain words for plans, reports and stories ("200 ms +- 50 ms"); '' when it has none. */
  describe(spec: ResolvedFault<K, P>): string;
  /** The words of its story. */
  story(spec: ResolvedFault<K, P>): FaultStoryWords;
}

/** Any definition, as the registry, the timeline and the validation see them. */
export type AnyFaultDefinition = FaultDefinition<string, z.ZodObject, object>;

/** Who a fault hits, in words: the node, every polling connection, or the balancer. */
export function faultSubject(f: FaultBase): string {
  if (f.target.kind === 'node' || f.target.kind === 'balancer-target') return f.target.node;
  return f.target.kind === 'route' ? 'every polling connection' : 'the balancer';
}

/** The node a fault hits; null = every node (route, balancer). */
export function faultNode(f: FaultBase): string | null {
  return f.target.kind === 'node' || f.target.kind === 'balancer-target' ? f.target.node : null;
}
