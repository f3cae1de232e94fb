import { formatDuration } from '../scenario/duration.js';
import type { AnyFaultDefinition, FaultCapability } from './fault-definition.js';
import { FAULT_TARGET_KINDS, type FaultTarget, type FaultTargetKind } from './fault-spec.js';
import type { FaultInput } from './fault-schema.js';
import { faultDefinition, type FaultKind, type FaultSpec } from './fault-registry.js';

export type { FaultTarget } from './fault-spec.js';
export type { FaultKind, FaultSpec } from './fault-registry.js';

export interface FaultProblem {
  path: string;
  message: string;
}

const BALANCED_ROUTES = ['single-address', 'nlb-unique-port'];
/** Routes whose tentacles have one server entry for all nodes (as scenario/resolve.ts treats fleet.overrides). */
const SHARED_ENTRY_ROUTES = ['single-address', 'alb'];

function parseTarget(text: string, nodeNames: string[]): FaultTarget | string {
  const known = `nodes are ${nodeNames.join(', ')}`;
  if (text === 'route') return { kind: 'route' };
  if (text === 'balancer') return { kind: 'balancer' };
  if (text === 'redis') return { kind: 'redis' };
  const m = /^balancer:(.+)$/.exec(text);
  const node = m ? m[1]! : text;
  if (!nodeNames.includes(node)) return `unknown node "${node}" (${known}; or balancer:<node>, balancer, route, redis)`;
  return m ? { kind: 'balancer-target', node } : { kind: 'node', node };
}

function acceptedTargets(d: AnyFaultDefinition): FaultTargetKind[] {
  return FAULT_TARGET_KINDS.filter((k) => d.targets[k] !== undefined);
}

/**
 * What a fault needs on this target: what its kind needs there -- or, on a target it does
 * not accept, what it needs on every target it accepts -- and the balancer simulator for
 * any balancer target.
 */
function needsOf(d: AnyFaultDefinition, target: FaultTargetKind): Set<FaultCapability> {
  const accepted = acceptedTargets(d).map((k) => d.targets[k]!);
  const own = d.targets[target] ?? accepted.reduce((common, caps) => common.filter((c) => caps.includes(c)));
  const needs = new Set<FaultCapability>(own);
  if (target === 'balancer' || target === 'balancer-target') needs.add('balancer-simulator');
  return needs;
}

/** Why a target is wrong for a kind, and what to write instead. */
function wrongTarget(d: AnyFaultDefinition, example: string): string {
  const accepted = acceptedTargets(d).join(' ');
  const a = d.kind;
  switch (accepted) {
    case 'node': return `${a} ${d.actsOn ?? 'acts on a node'}: write the node name (e.g. ${example})`;
    case 'balancer-target': return `${a} ${d.actsOn ?? 'acts on a balancer target'}: write balancer:<node> (e.g. balancer:${example})`;
    case 'balancer': return `${a} ${d.actsOn ?? 'acts on the balancer'}: write target: balancer`;
    case 'node route': return `${a} ${d.actsOn ?? 'is applied by the fault proxy'}: target a node (e.g. ${example}) or route`;
    default: return `${a} ${d.actsOn ?? 'cannot act on this target'}: write one of ${accepted.split(' ').join(', ')}`;
  }
}

/** Does a fault of this scenario need a fault proxy in front of the nodes? */
export function needsFaultProxy(faults: readonly FaultSpec[]): boolean {
  return faults.some((f) => needsOf(faultDefinition(f.action), f.target.kind).has('fault-proxy'));
}

/**
 * Resolve and check the fault timeline against the rest of the scenario, reading what each
 * kind accepts and needs from its definition. Every problem is returned with its path
 * (`faults[2].target: ...`).
 */
export function resolveFaults(
  input: FaultInput[] | undefined,
  ctx: { nodeNames: string[]; routeKind: string; balancer: string; processes: boolean; target: 'embedded' | 'external'; durationMs: number; embeddedRedis?: boolean },
): { faults: FaultSpec[]; problems: FaultProblem[] } {
  const problems: FaultProblem[] = [];
  const faults: FaultSpec[] = [];
  const names = new Set<string>();
  const isBalanced = BALANCED_ROUTES.includes(ctx.routeKind) && ctx.balancer === 'simulator';
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
    const a: FaultKind = f.action;
    const def = faultDefinition(a);
    if (def.targets[target.kind] === undefined) {
      problems.push({ path: `${path}.target`, message: wrongTarget(def, ctx.nodeNames[0] ?? 'node1') });
    }
    const needs = needsOf(def, target.kind);
    if (needs.has('node-processes') && !ctx.processes) {
      problems.push({ path: `${path}.action`, message: `${a} sends a real signal to the node process: leave cluster.processes true (and queue per-node)` });
    }
    if (needs.has('balancer-simulator') && !isBalanced) {
      problems.push({ path: `${path}.target`, message: `${a} on ${f.target} needs the layer-4 balancer simulator in the path (route single-address or nlb-unique-port, balancer simulator)` });
    }
    if (def.joinsCluster && SHARED_ENTRY_ROUTES.includes(ctx.routeKind)) {
      problems.push({ path: `${path}.action`, message: `${a} needs a route with one server entry per node (direct, unique-port, nlb-unique-port): behind one shared address (route ${ctx.routeKind}) a new node is reached through the address the tentacles already have` });
    }
    if (needs.has('embedded-redis') && !ctx.embeddedRedis) {
      problems.push({ path: `${path}.action`, message: `${a} acts on the redis-server pollfleet starts itself: set cluster.queue: redis and leave cluster.redisUrl unset` });
    }
    // a fault proxy is started by the run whenever a fault needs one: nothing to check
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
    const { name: _name, at: _at, target: _target, action: _action, for: _for, ...params } = f as FaultInput & { for?: number };
    faults.push({ name: unique, action: a, target, targetText: f.target, atMs: f.at, forMs, ...def.resolve(params) } as FaultSpec);
  });
  faults.sort((x, y) => x.atMs - y.atMs);
  return { faults, problems };
}

