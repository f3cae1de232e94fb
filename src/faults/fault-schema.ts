import { z } from 'zod';
import { parseDuration } from '../scenario/duration.js';

/**
 * The fault timeline of a scenario, as users write it:
 *
 *   faults:
 *     - { at: 30s, action: crash, target: node2, for: 40s }
 *     - { at: 10s, action: latency, target: route, latencyMs: 200, jitterMs: 50, direction: downstream }
 *
 * Discriminated on `action`; each action accepts only its own parameters (unknown fields
 * are errors). `at` counts from the start of the steady phase (after ramp-up). `for` undoes
 * the fault after that long (crash -> restart, hang -> resume, stop -> start, drain ->
 * undrain, deregister -> register, unhealthy -> healthy, a network toxic removed, the idle
 * timeout restored). Targets: a node name (`node2`), a balancer target (`balancer:node2`),
 * the balancer itself (`balancer`) or every polling connection (`route`). Checked against
 * the scenario in src/faults/resolve-faults.ts.
 */

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 350ms, 30s, 2m or 1h, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

const share = z.number().min(0, 'expected a share from 0 to 1').max(1, 'expected a share from 0 to 1');
const direction = z.enum(['upstream', 'downstream', 'both'], { message: 'expected upstream (tentacle -> node), downstream (node -> tentacle) or both' });
const nonNegative = z.number().min(0, 'expected a number >= 0');

const base = {
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_@:.-]*$/, 'expected a name of letters, digits, _ @ : . -').optional(),
  at: duration,
  target: z.string().min(1, 'expected a target: a node name, balancer:<node>, balancer or route'),
};
const undoable = { ...base, for: duration.optional() };
/** Network faults hit a share of connections (Toxiproxy's toxicity) in one or both directions. */
const network = { ...undoable, share: share.optional(), direction: direction.optional() };

export const FAULT_ACTIONS = [
  'crash', 'restart', 'hang', 'resume', 'stop', 'start', 'drain', 'undrain',
  'deregister', 'register', 'unhealthy',
  'latency', 'bandwidth', 'blackhole', 'reset', 'slice', 'limit-data', 'idle-timeout', 'reconnect-storm',
] as const;

export const faultSchema = z.discriminatedUnion(
  'action',
  [
    z.strictObject({ ...undoable, action: z.literal('crash') }),
    z.strictObject({ ...base, action: z.literal('restart') }),
    z.strictObject({ ...undoable, action: z.literal('hang') }),
    z.strictObject({ ...base, action: z.literal('resume') }),
    z.strictObject({ ...undoable, action: z.literal('stop') }),
    z.strictObject({ ...base, action: z.literal('start') }),
    z.strictObject({ ...undoable, action: z.literal('drain') }),
    z.strictObject({ ...base, action: z.literal('undrain') }),
    z.strictObject({ ...undoable, action: z.literal('deregister') }),
    z.strictObject({ ...base, action: z.literal('register') }),
    z.strictObject({ ...undoable, action: z.literal('unhealthy') }),
    z.strictObject({ ...network, action: z.literal('latency'), latencyMs: nonNegative, jitterMs: nonNegative.optional() }),
    z.strictObject({ ...network, action: z.literal('bandwidth'), bytesPerSec: z.number().min(1, 'expected at least 1 byte per second') }),
    z.strictObject({ ...network, action: z.literal('blackhole') }),
    z.strictObject({ ...base, action: z.literal('reset'), share: share.optional() }),
    z.strictObject({ ...network, action: z.literal('slice'), sliceBytes: z.number().int().min(1, 'expected at least 1 byte').optional(), delayMs: nonNegative.optional() }),
    z.strictObject({ ...network, action: z.literal('limit-data'), bytes: z.number().int().min(0, 'expected a number of bytes >= 0') }),
    z.strictObject({ ...undoable, action: z.literal('idle-timeout'), idleTimeout: duration }),
    z.strictObject({ ...base, action: z.literal('reconnect-storm'), share: share.optional() }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? `expected action to be one of: ${FAULT_ACTIONS.join(', ')}` : undefined) },
);

export type FaultInput = z.output<typeof faultSchema>;
