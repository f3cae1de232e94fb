import { z } from 'zod';
import type { AnyFaultDefinition } from './fault-definition.js';
import { baseFields, forField } from './fault-params.js';
import { FAULT_DEFINITIONS, FAULT_KINDS, type FaultKind } from './fault-registry.js';

/**
 * The fault timeline of a scenario, as users write it:
 *
 *   faults:
 *     - { at: 30s, action: crash, target: node2, for: 40s }
 *     - { at: 10s, action: latency, target: route, latencyMs: 200, jitterMs: 50, direction: downstream }
 *
 * Discriminated on `action`; each action accepts only its own parameters (unknown fields
 * are errors), built from the definitions in src/faults/fault-registry.ts. `at` counts from
 * the start of the steady phase (after ramp-up). `for` undoes the fault after that long; only
 * kinds with a revert accept it (crash -> restart, hang -> resume, stop -> start, drain ->
 * undrain, deregister -> register, unhealthy -> healthy, a network toxic removed, the idle
 * timeout restored). Targets: a node name (`node2`), a balancer target (`balancer:node2`),
 * the balancer itself (`balancer`) or every polling connection (`route`). Checked against
 * the scenario in src/faults/resolve-faults.ts.
 */

type Definitions = typeof FAULT_DEFINITIONS;
type Parsed<S> = S extends z.ZodObject ? z.output<S> : never;
type Written<S> = S extends z.ZodObject ? z.input<S> : never;
type Undoable<K extends FaultKind> = Definitions[K] extends { revert: unknown } ? true : false;

/** One fault as parsed (durations in ms), before it is checked against the scenario. */
export type FaultInput = {
  [K in FaultKind]: { name?: string | undefined; at: number; target: string; action: K } & (Undoable<K> extends true ? { for?: number | undefined } : unknown) &
    Parsed<Definitions[K]['params']>;
}[FaultKind];

/** One fault as written in the scenario file. */
type FaultWritten = {
  [K in FaultKind]: { name?: string | undefined; at: string | number; target: string; action: K } & (Undoable<K> extends true ? { for?: string | number | undefined } : unknown) &
    Written<Definitions[K]['params']>;
}[FaultKind];

/** The scenario schema of one kind: the shared fields, `for` when it can be undone, its own parameters. */
function kindSchema(d: AnyFaultDefinition) {
  return z.strictObject({ ...baseFields, ...(d.revert ? forField : {}), action: z.literal(d.kind), ...d.params.shape });
}

const kinds = FAULT_KINDS.map((k) => kindSchema(FAULT_DEFINITIONS[k]));

export const faultSchema = z.discriminatedUnion('action', kinds as [(typeof kinds)[number], ...(typeof kinds)[number][]], {
  error: (issue) => (issue.code === 'invalid_union' ? `expected action to be one of: ${FAULT_KINDS.join(', ')}` : undefined),
}) as unknown as z.ZodType<FaultInput, FaultWritten>;
