import { z } from 'zod';
import { FAULT_DEFAULTS } from '../scenario/defaults.js';
import { durationSchema } from '../scenario/duration.js';

/**
 * Schema pieces the fault kinds share: the fields every fault has (added by the registry)
 * and the parameters several kinds accept. Each kind's own schema lives in its file.
 */

export const duration = durationSchema;

export const share = z.number().min(0, 'expected a share from 0 to 1').max(1, 'expected a share from 0 to 1');
export const direction = z.enum(['upstream', 'downstream', 'both'], { message: 'expected upstream (tentacle -> node), downstream (node -> tentacle) or both' });
export const nonNegative = z.number().min(0, 'expected a number >= 0');

export type Direction = z.output<typeof direction>;

/** The fields every fault has, as users write them. */
export const baseFields = {
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_@:.-]*$/, 'expected a name of letters, digits, _ @ : . -').optional(),
  at: duration,
  target: z.string().min(1, 'expected a target: a node name, balancer:<node>, balancer or route'),
};
/** `for`: accepted by kinds that can be undone (those with a revert). */
export const forField = { for: duration.optional() };

/** A kind without parameters of its own. */
export const noParams = z.strictObject({});
export type NoParams = Record<never, never>;
export const resolveNoParams = (): NoParams => ({});

/** Network faults hit a share of connections (Toxiproxy's toxicity) in one or both directions. */
export const networkFields = { share: share.optional(), direction: direction.optional() };
export interface NetworkParams {
  /** Share of connections the fault hits (Toxiproxy's toxicity). */
  share: number;
  direction: Direction;
}
export function resolveNetwork(p: { share?: number | undefined; direction?: Direction | undefined }): NetworkParams {
  return { share: p.share ?? FAULT_DEFAULTS.share, direction: p.direction ?? FAULT_DEFAULTS.direction };
}
