import type { z } from 'zod';
import type { FaultStoryWords } from '../verdict/fault-story.js';
import type { FaultContext } from './fault-context.js';
import type { FaultTargetKind, ResolvedFault } from './fault-spec.js';

/**
 * The contract every fault kind implements: one file per kind (src/faults/<kind>.ts), one
 * line in src/faults/fault-registry.ts. Validation, the timeline, the run, the analysis and
 * the stories read these definitions; nothing else switches on kind names. How to add a
 * kind: src/faults/README.md.
 */

/**
 * What a fault needs from the scenario:
 * - `node-processes`: each node in its own process (real signals: SIGKILL, SIGSTOP);
 * - `balancer-simulator`: the layer-4 balancer simulator in the path (route single-address
 *   or nlb-unique-port, balancer simulator);
 * - `fault-proxy`: a fault proxy in front of the nodes (started by the run when needed).
 */
export type FaultCapability = 'node-processes' | 'balancer-simulator' | 'fault-proxy' | 'embedded-redis';

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
  /**
   * The target node is not part of the cluster until this fault applies (node-added): the
   * run starts without it and no tentacle lists it, as a fleet configured before it joined.
   */
  readonly joinsCluster?: boolean;
  /** One sentence for the run's diagnosis when the fault ran: the pitfall it shows, in words a user can act on. */
  diagnosis?(spec: ResolvedFault<K, P>): string;
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
