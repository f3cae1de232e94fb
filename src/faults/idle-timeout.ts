import { z } from 'zod';
import { formatDuration } from '../scenario/duration.js';
import type { FaultDefinition } from './fault-definition.js';
import type { ResolvedFault } from './fault-spec.js';
import { balancerOf } from './fault-context.js';
import { duration } from './fault-params.js';

const params = z.strictObject({ idleTimeout: duration });

type Params = { idleTimeoutMs: number };

/** Its parameters in words. */
function describe(f: ResolvedFault<'idle-timeout', Params>): string {
  return formatDuration(f.idleTimeoutMs);
}

/** Change the balancer's idle timeout (existing and new flows); for: restore the old one. */
export const idleTimeoutFault = {
  kind: 'idle-timeout',
  params,
  resolve: (p) => ({ idleTimeoutMs: p.idleTimeout }),
  targets: { balancer: ['balancer-simulator'] },
  actsOn: "changes the balancer's idle timeout",
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => {
    const lb = balancerOf(f, ctx);
    ctx.state.set(f, lb.idleTimeoutMs);
    lb.setIdleTimeout(f.idleTimeoutMs);
  },
  revert: (f, ctx) => {
    const old = ctx.state.get(f);
    if (typeof old === 'number') balancerOf(f, ctx).setIdleTimeout(old);
    ctx.state.delete(f);
  },
  describe,
  story: (f) => ({ what: `the balancer idle timeout was set to ${describe(f)}`, back: 'they noticed' }),
} satisfies FaultDefinition<'idle-timeout', typeof params, Params>;
