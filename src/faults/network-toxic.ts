import type { ToxicKind, ToxicParams } from '../network/toxics/toxic.js';
import type { FaultCapability } from './fault-definition.js';
import type { FaultBase, FaultTargetKind } from './fault-spec.js';
import { balancerOf, proxiesOf, type FaultContext } from './fault-context.js';
import type { NetworkParams } from './fault-params.js';

/**
 * What the network fault kinds share (each kind still has its own definition file): the
 * toxic is added by the fault proxies in front of the target node (or every node for
 * `route`) to that share of connections in that direction, and removed when `for` expires.
 * The toxics themselves live in src/network/toxics/, one file each.
 */

/** Carried by the fault proxies only: a node or every polling connection. */
export const PROXY_TARGETS = {
  node: ['fault-proxy'],
  route: ['fault-proxy'],
} as const satisfies Partial<Record<FaultTargetKind, readonly FaultCapability[]>>;

/** Carried by the fault proxies, or by the balancer simulator itself on `balancer:<node>` / `balancer`. */
export const PROXY_OR_BALANCER_TARGETS = {
  node: ['fault-proxy'],
  'balancer-target': ['balancer-simulator'],
  balancer: ['balancer-simulator'],
  route: ['fault-proxy'],
} as const satisfies Partial<Record<FaultTargetKind, readonly FaultCapability[]>>;

const NO_TOXIC_PARAMS: ToxicParams = { latencyMs: 0, jitterMs: 0, bytesPerSec: 0, sliceBytes: 0, sliceDelayMs: 0, limitBytes: 0 };

type ToxicIds = ReadonlyArray<readonly [{ removeToxic(id: number): void }, number]>;

/** Add the toxic on the target's proxies; the ids are kept for removeToxic. */
export function addToxic(kind: ToxicKind, f: FaultBase & NetworkParams, params: Partial<ToxicParams>, ctx: FaultContext): void {
  const full = { ...NO_TOXIC_PARAMS, ...params };
  const ids: ToxicIds = proxiesOf(f, ctx).map((p) => [p, p.addToxic(kind, full, { direction: f.direction, share: f.share })] as const);
  ctx.state.set(f, ids);
}

/** Remove what addToxic added. */
export function removeToxic(f: FaultBase, ctx: FaultContext): void {
  const ids = (ctx.state.get(f) ?? []) as ToxicIds;
  for (const [p, id] of ids) p.removeToxic(id);
  ctx.state.delete(f);
}

/** RST a share of the connections to the target now: through the proxies, or by the balancer. */
export function resetConnections(f: FaultBase & { share: number }, ctx: FaultContext): number {
  if (f.target.kind === 'balancer-target') return balancerOf(f, ctx).resetAll(f.target.node);
  if (f.target.kind === 'balancer') return balancerOf(f, ctx).resetAll();
  return proxiesOf(f, ctx).reduce((n, p) => n + p.resetConnections(f.share), 0);
}
