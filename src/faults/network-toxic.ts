import type { ToxicKind, ToxicParams } from '../network/toxics/toxic.js';
import type { FaultAction, FaultSpec } from './resolve-faults.js';
import { balancerOf, type FaultActionDefinition, type FaultContext } from './fault-action.js';

function params(f: FaultSpec): ToxicParams {
  return { latencyMs: f.latencyMs, jitterMs: f.jitterMs, bytesPerSec: f.bytesPerSec, sliceBytes: f.sliceBytes, sliceDelayMs: f.sliceDelayMs, limitBytes: f.limitBytes };
}

function proxiesOf(f: FaultSpec, ctx: FaultContext) {
  if (!ctx.proxies) throw new Error(`${f.name}: no fault proxy in the path`);
  return ctx.proxies.targets(f);
}

/**
 * A network fault carried by the fault proxies in front of the target node (or every node
 * for `route`): the toxic is added to that share of connections in that direction, and
 * removed when `for` expires. Blackhole on `balancer:<node>` / `balancer` is done by the
 * balancer simulator itself (the NLB silent drop).
 */
export function networkToxicAction(action: FaultAction & ToxicKind, blocksTarget: boolean): FaultActionDefinition {
  return {
    action,
    blocksTarget,
    apply: (f, ctx) => {
      if (f.target.kind === 'balancer-target' || f.target.kind === 'balancer') {
        balancerOf(f, ctx).blackhole(f.target.kind === 'balancer' ? undefined : f.target.node, true);
        return;
      }
      const ids = proxiesOf(f, ctx).map((p) => [p, p.addToxic(action, params(f), { direction: f.direction, share: f.share })] as const);
      ctx.state.set(f, ids);
    },
    revert: (f, ctx) => {
      if (f.target.kind === 'balancer-target' || f.target.kind === 'balancer') {
        balancerOf(f, ctx).blackhole(f.target.kind === 'balancer' ? undefined : f.target.node, false);
        return;
      }
      const ids = (ctx.state.get(f) ?? []) as ReadonlyArray<readonly [{ removeToxic(id: number): void }, number]>;
      for (const [p, id] of ids) p.removeToxic(id);
      ctx.state.delete(f);
    },
  };
}

/** RST a share of the connections to the target now: through the proxies, or by the balancer. */
export function resetConnections(f: FaultSpec, ctx: FaultContext): number {
  if (f.target.kind === 'balancer-target') return balancerOf(f, ctx).resetAll(f.target.node);
  if (f.target.kind === 'balancer') return balancerOf(f, ctx).resetAll();
  return proxiesOf(f, ctx).reduce((n, p) => n + p.resetConnections(f.share), 0);
}
