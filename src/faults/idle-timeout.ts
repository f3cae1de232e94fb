import { balancerOf, type FaultActionDefinition } from './fault-action.js';

/** Change the balancer's idle timeout (existing and new flows); for: restore the old one. */
export const idleTimeoutAction = {
  action: 'idle-timeout',
  blocksTarget: false,
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
} satisfies FaultActionDefinition;
