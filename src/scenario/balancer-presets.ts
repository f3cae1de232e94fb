import { ALB_DEFAULTS, BALANCER_PRESET_DEFAULTS, NLB_DEFAULTS } from './defaults.js';
import { formatDuration } from './duration.js';
import type { ResolveProblem } from './resolve-problem.js';
import type { BALANCER_PRESETS, ScenarioParsed } from './schema.js';

/**
 * `route.preset`: a product's documented balancer defaults laid under the scenario's own
 * route settings (an explicit field always wins). From ../shared/reference/load-balancers.md
 * ([LB]) and the vendors' documentation:
 *
 * | preset        | routes                                  | idle timeout | at idle expiry                          | health check                   | unhealthy target |
 * |---------------|-----------------------------------------|--------------|-----------------------------------------|--------------------------------|------------------|
 * | aws-nlb       | single-address, nlb-unique-port | 350 s | nothing sent; RST on the next packet    | TCP 30 s / 10 s, 5 up, 2 down  | reset            |
 * | aws-alb       | alb                                     | 60 s         | (layer 7: closes)                       | HTTP 30 s / 5 s, 5 up, 2 down  | -                |
 * | azure-lb      | single-address, nlb-unique-port | 4 min | silent drop; RST both ways with `nlb.tcpReset: true` | TCP 5 s / 5 s, 2 down | flows continue (drain) |
 * | gcp-network   | single-address, nlb-unique-port | 600 s (connection tracking) | RST on the next packet (*inferred*) | TCP 5 s / 5 s, 2 up, 2 down | flows continue (drain) |
 * | haproxy       | balanced routes + sni                      | none unless set (pollfleet: 1 h) | close                        | none unless set                | -                |
 * | nginx         | balanced routes + sni                      | none unless set (pollfleet: 1 h) | close                        | none (open source)             | -                |
 * | octopus-cloud | sni-passthrough                         | -            | -                                       | -                              | -                |
 *
 * GCP has no layer-7 option for polling (its HTTP(S) load balancers terminate TLS): the
 * gcp-http preset, and gcp-network with route kind alb, are refused. octopus-cloud is the
 * shape of Octopus Cloud's polling endpoint: one name (polling.<instance>.octopus.app), one
 * port (443), every node behind it -- sni-passthrough with `sni.layout: one-name`.
 * A real HAProxy / nginx carries only some settings (src/scenario/real-balancer-settings.ts):
 * with `route.balancer` haproxy or nginx a preset sets only those, and says which it left out.
 */

export type BalancerPreset = (typeof BALANCER_PRESETS)[number];
type RouteInput = NonNullable<ScenarioParsed['route']>;
type NlbInput = NonNullable<RouteInput['nlb']>;
type AlbInput = NonNullable<RouteInput['alb']>;
type SniInput = NonNullable<RouteInput['sni']>;

/** What a preset applied: its name and one line per setting it set (the scenario's own settings excluded). */
export interface AppliedPreset {
  name: BalancerPreset;
  set: string[];
}

const L4_KINDS = ['single-address', 'nlb-unique-port'];

export const GCP_NO_LAYER7 =
  'GCP has no layer-7 option for polling: its HTTP(S) load balancers terminate TLS, so the tentacle sees the balancer\'s certificate and polling never works -- ' +
  'use preset gcp-network (a passthrough Network Load Balancer, one forwarding rule per node) with route kind nlb-unique-port or single-address';

interface PresetBody {
  kinds: string[];
  nlb?: NlbInput;
  alb?: AlbInput;
  sni?: SniInput;
  balancer?: 'haproxy' | 'nginx';
}

const PRESETS: Record<Exclude<BalancerPreset, 'gcp-http'>, PresetBody> = {
  'aws-nlb': {
    kinds: L4_KINDS,
    nlb: {
      idleTimeout: NLB_DEFAULTS.idleTimeoutMs,
      onIdle: 'reset-next-packet',
      healthCheck: { protocol: 'tcp', interval: NLB_DEFAULTS.healthCheckIntervalMs, timeout: NLB_DEFAULTS.healthCheckTimeoutMs, healthyThreshold: NLB_DEFAULTS.healthyThreshold, unhealthyThreshold: NLB_DEFAULTS.unhealthyThreshold },
      onUnhealthy: 'reset',
      deregistrationDelay: NLB_DEFAULTS.deregistrationDelayMs,
    },
  },
  'aws-alb': {
    kinds: ['alb'],
    alb: {
      idleTimeout: ALB_DEFAULTS.idleTimeoutMs,
      healthCheck: { protocol: 'http', interval: ALB_DEFAULTS.healthCheckIntervalMs, timeout: ALB_DEFAULTS.healthCheckTimeoutMs, healthyThreshold: ALB_DEFAULTS.healthyThreshold, unhealthyThreshold: ALB_DEFAULTS.unhealthyThreshold },
    },
  },
  'azure-lb': {
    kinds: L4_KINDS,
    nlb: {
      idleTimeout: BALANCER_PRESET_DEFAULTS.azureIdleTimeoutMs,
      onIdle: 'silent-drop',
      healthCheck: { protocol: 'tcp', interval: BALANCER_PRESET_DEFAULTS.azureHealthCheckIntervalMs, timeout: BALANCER_PRESET_DEFAULTS.azureHealthCheckTimeoutMs, healthyThreshold: 1, unhealthyThreshold: BALANCER_PRESET_DEFAULTS.azureUnhealthyThreshold },
      onUnhealthy: 'drain',
    },
  },
  'gcp-network': {
    kinds: L4_KINDS,
    nlb: {
      idleTimeout: BALANCER_PRESET_DEFAULTS.gcpIdleTimeoutMs,
      onIdle: 'reset-next-packet',
      healthCheck: { protocol: 'tcp', interval: BALANCER_PRESET_DEFAULTS.gcpHealthCheckIntervalMs, timeout: BALANCER_PRESET_DEFAULTS.gcpHealthCheckTimeoutMs, healthyThreshold: BALANCER_PRESET_DEFAULTS.gcpHealthyThreshold, unhealthyThreshold: BALANCER_PRESET_DEFAULTS.gcpUnhealthyThreshold },
      onUnhealthy: 'drain',
    },
  },
  haproxy: { kinds: [...L4_KINDS, 'alb', 'sni-passthrough'], balancer: 'haproxy' },
  nginx: { kinds: [...L4_KINDS, 'alb', 'sni-passthrough'], balancer: 'nginx' },
  'octopus-cloud': { kinds: ['sni-passthrough'], sni: { layout: 'one-name', domain: 'example.octopus.app' } },
};

/** Settings a real balancer carries, per section (the rest stay simulator-only). */
const REAL_CARRIES: Record<'haproxy' | 'nginx', string[]> = {
  haproxy: ['idleTimeout', 'healthCheck', 'onUnhealthy'],
  nginx: ['idleTimeout'],
};

function show(v: unknown): string {
  if (typeof v === 'number') return formatDuration(v);
  if (v && typeof v === 'object') {
    return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${typeof x === 'number' && !/Threshold$/.test(k) ? formatDuration(x) : String(x)}`).join(', ')} }`;
  }
  return String(v);
}

/** Lay `preset` under `own`: fields `own` sets win; returns the merged section and what the preset set. */
function layer<T extends Record<string, unknown>>(section: string, preset: T | undefined, own: T | undefined, keep: (k: string) => boolean, set: string[], left: string[]): T | undefined {
  if (!preset) return own;
  const out: Record<string, unknown> = { ...(own ?? {}) };
  for (const [k, v] of Object.entries(preset)) {
    if (!keep(k)) {
      left.push(`${section}.${k}`);
      continue;
    }
    const mine = out[k];
    if (mine === undefined) {
      out[k] = v;
      set.push(`${section}.${k} ${show(v)}`);
    } else if (k === 'healthCheck' && typeof mine === 'object' && typeof v === 'object') {
      // a partly written health check keeps the preset's other fields
      out[k] = { ...v, ...mine };
      set.push(`${section}.${k} ${show({ ...v, ...mine })} (partly the scenario's)`);
    }
  }
  return out as T;
}

/**
 * Apply `route.preset` to a parsed scenario: the merged scenario, what the preset set (for
 * --plan and the report) and any refusal. No preset: the scenario unchanged.
 */
export function applyBalancerPreset(p: ScenarioParsed): { parsed: ScenarioParsed; applied: AppliedPreset | null; problems: ResolveProblem[] } {
  const route = p.route;
  const name = route?.preset;
  if (!route || !name) return { parsed: p, applied: null, problems: [] };
  if (name === 'gcp-http' || (name === 'gcp-network' && route.kind === 'alb')) {
    return { parsed: p, applied: null, problems: [{ path: 'route.preset', message: GCP_NO_LAYER7 }] };
  }
  const body = PRESETS[name];
  if (!body.kinds.includes(route.kind)) {
    return { parsed: p, applied: null, problems: [{ path: 'route.preset', message: `preset ${name} describes a balancer for route kind ${body.kinds.join(', ')}, not ${route.kind}` }] };
  }
  const problems: ResolveProblem[] = [];
  const set: string[] = [];
  const left: string[] = [];
  let balancer = route.balancer;
  if (body.balancer) {
    if (balancer !== undefined && balancer !== body.balancer) {
      problems.push({ path: 'route.balancer', message: `preset ${name} runs a real ${body.balancer}; leave balancer unset or write ${body.balancer}` });
    } else if (balancer === undefined) {
      balancer = body.balancer;
      set.push(`balancer ${body.balancer}`);
    }
  }
  const real = balancer === 'haproxy' || balancer === 'nginx' ? balancer : null;
  const keep = (k: string) => real === null || REAL_CARRIES[real].includes(k);
  const nlb = layer('nlb', body.nlb, route.nlb, (k) => keep(k) && !(k === 'onIdle' && route.nlb?.tcpReset !== undefined), set, left);
  const alb = layer('alb', body.alb, route.alb, keep, set, left);
  const sni = layer('sni', body.sni, route.sni, () => true, set, left);
  if (left.length && real) set.push(`left out (${real} cannot carry them): ${left.join(', ')}`);
  if (name === 'azure-lb' && route.nlb?.tcpReset === true) set.push('nlb.onIdle reset (tcpReset: true)');
  const merged: RouteInput = { ...route, ...(balancer !== undefined ? { balancer } : {}), ...(nlb ? { nlb } : {}), ...(alb ? { alb } : {}), ...(sni ? { sni } : {}) };
  return { parsed: { ...p, route: merged }, applied: { name, set }, problems };
}
