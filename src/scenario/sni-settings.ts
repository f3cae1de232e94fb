import { SNI_DEFAULTS } from './defaults.js';
import type { ResolveProblem } from './resolve-problem.js';
import type { ScenarioParsed } from './schema.js';

/** route.sni, resolved (route kind sni-passthrough). */
export interface SniSettings {
  /** The router's port (443; 0 = a free port). */
  port: number;
  domain: string;
  /** per-node: a name per node; one-name: Octopus Cloud's one name with every node behind it. */
  layout: 'per-node' | 'one-name';
  /** passthrough: TCP, routed by SNI; http: an HTTP-mode proxy terminating TLS (fails). */
  mode: 'passthrough' | 'http';
  /** The name each server entry of a tentacle uses, with the node it is meant to reach (null: any node). */
  names: { name: string; node: string | null }[];
  /** What the router maps each name to (misroutes and missing names included): the nodes it forwards to ([] = no mapping). */
  routes: { name: string; nodes: string[] }[];
}

/** `polling1.example.test`, ... per node; `polling.example.test` for one-name. */
export function sniNames(domain: string, layout: SniSettings['layout'], nodeNames: string[]): { name: string; node: string | null }[] {
  if (layout === 'one-name') return [{ name: `${SNI_DEFAULTS.namePrefix}.${domain}`, node: null }];
  return nodeNames.map((node, i) => ({ name: `${SNI_DEFAULTS.namePrefix}${i + 1}.${domain}`, node }));
}

/** route.sni with defaults, and the problems of its cross-field rules; null settings for other route kinds. */
export function resolveSni(p: ScenarioParsed, routeKind: string, nodeNames: string[]): { sni: SniSettings | null; problems: ResolveProblem[] } {
  const given = p.route?.sni;
  const problems: ResolveProblem[] = [];
  if (routeKind !== 'sni-passthrough') {
    if (given) problems.push({ path: 'route.sni', message: `SNI settings are for route kind sni-passthrough, not ${routeKind}` });
    return { sni: null, problems };
  }
  const domain = (given?.domain ?? SNI_DEFAULTS.domain).toLowerCase();
  const layout = given?.layout ?? 'per-node';
  const names = sniNames(domain, layout, nodeNames);
  const known = names.map((n) => n.name);
  const misroute = Object.fromEntries(Object.entries(given?.misroute ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const missing = (given?.missing ?? []).map((m) => m.toLowerCase());
  for (const [name, node] of Object.entries(misroute)) {
    if (!known.includes(name)) problems.push({ path: `route.sni.misroute.${name}`, message: `unknown name (the router's names are ${known.join(', ')})` });
    if (!nodeNames.includes(node)) problems.push({ path: `route.sni.misroute.${name}`, message: `unknown node "${node}" (nodes are ${nodeNames.join(', ')})` });
    if (missing.includes(name)) problems.push({ path: `route.sni.misroute.${name}`, message: 'a name is either misrouted or missing, not both' });
  }
  missing.forEach((m, i) => {
    if (!known.includes(m)) problems.push({ path: `route.sni.missing[${i}]`, message: `unknown name "${m}" (the router's names are ${known.join(', ')})` });
  });
  const routes = names.map(({ name, node }) => ({
    name,
    nodes: missing.includes(name) ? [] : misroute[name] !== undefined ? [misroute[name]!] : node === null ? [...nodeNames] : [node],
  }));
  return { sni: { port: given?.port ?? SNI_DEFAULTS.port, domain, layout, mode: given?.mode ?? 'passthrough', names, routes }, problems };
}
