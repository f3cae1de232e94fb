import { z } from 'zod';
import { parseDuration } from './duration.js';

/**
 * Pieces of the scenario schema shared by src/scenario/schema.ts and the route definitions
 * (src/environment/routes/), which bring their own options.
 */

/** `350ms`, `30s`, `2m`, `1h` or a number of milliseconds -> milliseconds. */
export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 350ms, 30s, 2m or 1h, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

/** A balancer's health check of its targets. */
export const healthCheckSchema = z.strictObject({
  protocol: z.enum(['tcp', 'http', 'https']).optional(),
  path: z.string().startsWith('/').optional(),
  interval: duration.optional(),
  timeout: duration.optional(),
  healthyThreshold: z.number().int().min(1).max(10).optional(),
  unhealthyThreshold: z.number().int().min(1).max(10).optional(),
});
