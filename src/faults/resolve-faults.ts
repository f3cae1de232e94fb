import { FAULT_DEFAULTS } from '../scenario/defaults.js';
import { formatDuration } from '../scenario/duration.js';
import type { FaultInput } from './fault-schema.js';
import { FAULT_ACTIONS } from './fault-schema.js';

export type FaultAction = (typeof FAULT_ACTIONS)[number];

/** What a fault acts on. */
export type FaultTarget =
  | { kind: 'node'; node: string }
  /** One target of the layer-4 balancer (its registration, health, flows). */
  | { kind: 'balancer-target'; node: string }
  /** The balancer as a whole (idle timeout, every flow). */
  | { kind: 'balancer' }
  /** Every polling connection (through the fault proxies). */
  | { kind: 'route' };

/** A fault with every parameter resolved (nothing downstream needs `??`). */
export interface FaultSpec {
  /** As written, or `action@target`. */
  name: string;
  action: FaultAction;
  target: FaultTarget;
  /** The target as written (`node2`, `balancer:node2`, `route`). */
  targetText: string;
  /** From the start of the steady phase. */
  atMs: number;
  /** Undone after this long; null = not undone within the run (or an instantaneous action). */
  forMs: number | null;
  /** Share of connections a network fault hits (Toxiproxy's toxicity). */
  share: number;
  direction: 'upstream' | 'downstream' | 'both';
  latencyMs: number;
  jitterMs: number;
  bytesPerSec: number;
  sliceBytes: number;
  sliceDelayMs: number;
  limitBytes: number;
  idleTimeoutMs: number;
}

export interface FaultProblem {
  path: string;
  message: string;
}

/** Actions that act on a node process of the embedded cluster. */
const NODE_ACTIONS: readonly FaultAction[] = ['crash', 'restart', 'hang', 'resume', 'stop', 'start', 'drain', 'undrain'];
/** Actions that act on one target of the layer-4 balancer simulator. */
const BALANCER_TARGET_ACTIONS: readonly FaultAction[] = ['deregister', 'register', 'unhealthy'];
/** Actions carried by the fault proxy (or, for balancer targets, by the balancer simulator). */
export const NETWORK_ACTIONS: readonly FaultAction[] = ['latency', 'bandwidth', 'blackhole', 'reset', 'slice', 'limit-data', 'reconnect-storm'];
/** Actions that need the node in its own process (real signals). */
const PROCESS_ACTIONS: readonly FaultAction[] = ['crash', 'hang'];
/** Network actions the balancer simulator can do itself on `balancer:<node>` / `balancer`. */
const BALANCER_NETWORK_ACTIONS: readonly FaultAction[] = ['blackhole', 'reset', 'reconnect-storm'];

const BALANCED_ROUTES = ['single-address', 'nlb-unique-port'];

function parseTarget(text: string, nodeNames: string[]): FaultTarget | string {
  const known = `nodes are ${nodeNames.join(', ')}`;
  if (text === 'route') return { kind: 'route' };
  if (text === 'balancer') return { kind: 'balancer' };
  const m = /^balancer:(.+)$/.exec(text);
  const node = m ? m[1]! : text;
  if (!nodeNames.includes(node)) return `unknown node "${node}" (${known}; or balancer:<node>, balancer, route)`;
  return m ? { kind: 'balancer-target', node } : { kind: 'node', node };
}

/** Does a fault of this scenario need a fault proxy in front of the nodes? */
export function needsFaultProxy(faults: readonly FaultSpec[]): boolean {
  return faults.some((f) => NETWORK_ACTIONS.includes(f.action) && (f.target.kind === 'node' || f.target.kind === 'route'));
}

/**
 * Resolve and check the fault timeline against the rest of the scenario. Every problem
 * is returned with its path (`faults[2].target: ...`).
 */
export function resolveFaults(
  input: FaultInput[] | undefined,
  ctx: { nodeNames: string[]; routeKind: string; balancer: string; processes: boolean; target: 'embedded' | 'external'; durationMs: number },
): { faults: FaultSpec[]; problems: FaultProblem[] } {
  const problems: FaultProblem[] = [];
  const faults: FaultSpec[] = [];
  const names = new Set<string>();
  (input ?? []).forEach((f, i) => {
    const path = `faults[${i}]`;
    if (ctx.target === 'external') {
      problems.push({ path, message: 'faults act on the embedded cluster; an external target cannot be crashed or re-routed by pollfleet' });
      return;
    }
    const target = parseTarget(f.target, ctx.nodeNames);
    if (typeof target === 'string') {
      problems.push({ path: `${path}.target`, message: target });
      return;
    }
    const isBalanced = BALANCED_ROUTES.includes(ctx.routeKind) && ctx.balancer === 'simulator';
    const a = f.action;
    if (NODE_ACTIONS.includes(a) && target.kind !== 'node') {
      problems.push({ path: `${path}.target`, message: `${a} acts on a node: write the node name (e.g. ${ctx.nodeNames[0]})` });
    }
    if (PROCESS_ACTIONS.includes(a) && !ctx.processes) {
      problems.push({ path: `${path}.action`, message: `${a} sends a real signal to the node process: leave cluster.processes true (and queue per-node)` });
    }
    if (BALANCER_TARGET_ACTIONS.includes(a) || a === 'idle-timeout' || (target.kind === 'balancer' || target.kind === 'balancer-target')) {
      if (!isBalanced) {
        problems.push({ path: `${path}.target`, message: `${a} on ${f.target} needs the layer-4 balancer simulator in the path (route single-address or nlb-unique-port, balancer simulator)` });
      }
    }
    if (BALANCER_TARGET_ACTIONS.includes(a) && target.kind !== 'balancer-target') {
      problems.push({ path: `${path}.target`, message: `${a} acts on a balancer target: write balancer:<node> (e.g. balancer:${ctx.nodeNames[0]})` });
    }
    if (a === 'idle-timeout' && target.kind !== 'balancer') {
      problems.push({ path: `${path}.target`, message: 'idle-timeout changes the balancer\'s idle timeout: write target: balancer' });
    }
    if (NETWORK_ACTIONS.includes(a) && (target.kind === 'balancer' || target.kind === 'balancer-target') && !BALANCER_NETWORK_ACTIONS.includes(a)) {
      problems.push({ path: `${path}.target`, message: `${a} is applied by the fault proxy: target a node (e.g. ${ctx.nodeNames[0]}) or route` });
    }
    if (f.at > ctx.durationMs) {
      problems.push({ path: `${path}.at`, message: `${formatDuration(f.at)} is after the end of the steady phase (duration ${formatDuration(ctx.durationMs)}); faults count from the start of the steady phase` });
    }
    const forMs = 'for' in f && f.for !== undefined ? f.for : null;
    if (forMs !== null && f.at + forMs > ctx.durationMs) {
      problems.push({ path: `${path}.for`, message: `the fault would end at ${formatDuration(f.at + forMs)}, after the end of the steady phase (duration ${formatDuration(ctx.durationMs)}); leave time to recover` });
    }
    const name = f.name ?? `${a}@${f.target}`;
    let unique = name;
    for (let k = 2; names.has(unique); k++) unique = `${name}#${k}`;
    if (f.name && names.has(f.name)) problems.push({ path: `${path}.name`, message: `"${f.name}" is used twice` });
    names.add(unique);
    const p = f as Partial<Record<string, unknown>>;
    const num = (k: string, d: number): number => (typeof p[k] === 'number' ? (p[k] as number) : d);
    faults.push({
      name: unique,
      action: a,
      target,
      targetText: f.target,
      atMs: f.at,
      forMs,
      share: num('share', FAULT_DEFAULTS.share),
      direction: (p['direction'] as FaultSpec['direction'] | undefined) ?? FAULT_DEFAULTS.direction,
      latencyMs: num('latencyMs', 0),
      jitterMs: num('jitterMs', 0),
      bytesPerSec: num('bytesPerSec', 0),
      sliceBytes: num('sliceBytes', FAULT_DEFAULTS.sliceBytes),
      sliceDelayMs: num('delayMs', 0),
      limitBytes: num('bytes', 0),
      idleTimeoutMs: num('idleTimeout', 0),
    });
  });
  faults.sort((x, y) => x.atMs - y.atMs);
  return { faults, problems };
}
