import autocannon from 'autocannon';
import { NODE_HEADER } from '../cluster/rest-api.js';
import type { ApiLoadResult } from '../result/result.js';

/**
 * Load on the registration / web path (80/443 in real life): the REST API driven with
 * autocannon, e.g. through the ALB, to show that a layer-7 balancer serves the web tier well
 * even though it cannot carry polling. Bounded in time and in requests.
 */
export interface ApiLoadSettings {
  connections: number;
  durationMs: number;
  /** Stop after this many requests even if time remains. */
  maxRequests: number;
  path: string;
}

export async function runApiLoad(baseUrl: string, apiKey: string, s: ApiLoadSettings): Promise<ApiLoadResult> {
  const perNode: Record<string, number> = {};
  let named = 0;
  const headerKey = NODE_HEADER.toLowerCase();
  const r = await autocannon({
    url: baseUrl,
    connections: s.connections,
    duration: s.durationMs / 1000,
    amount: s.maxRequests,
    headers: { 'X-Octopus-ApiKey': apiKey },
    requests: [
      {
        method: 'GET',
        path: s.path,
        onResponse: (_status, _body, _ctx, headers) => {
          const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === headerKey);
          const node = key === undefined ? undefined : headers?.[key];
          if (typeof node !== 'string') return;
          named++;
          perNode[node] = (perNode[node] ?? 0) + 1;
        },
      },
    ],
  });
  const statusCounts: Record<string, number> = {};
  for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) statusCounts[code] = v.count ?? 0;
  return {
    url: baseUrl,
    path: s.path,
    connections: s.connections,
    durationMs: Math.round(r.duration * 1000),
    requests: r.requests.total,
    requestsPerSec: Math.round(r.requests.average),
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.mean },
    statusCounts,
    errors: r.errors,
    timeouts: r.timeouts,
    perNode: named ? perNode : null,
  };
}
