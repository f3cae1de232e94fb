import type { Comparison, HarnessProcess, Result } from '../result/result.js';
import { RPC_RETRY_DEFAULTS } from '../scenario/defaults.js';
import { formatRetryWindow } from '../verdict/fault-story.js';
import { isComparison } from './render-markdown.js';

/**
 * metrics.prom: Prometheus text exposition format 0.0.4, for node_exporter's textfile
 * collector or a Pushgateway. Every sample carries scenario="<name>" and route="<route>".
 * A figure that was not measured (null) is left out, never written as 0.
 */

interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: Array<{ labels: Record<string, string>; value: number }>;
}

const QUANTILES: Array<[string, 'p50' | 'p90' | 'p99']> = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.99', 'p99'],
];

const FAMILIES: Array<Omit<Family, 'samples'>> = [
  { name: 'pollfleet_coverage_ratio', type: 'gauge', help: 'Share of tentacle-node pairs covered at the end of the run (0..1).' },
  { name: 'pollfleet_coverage_min_ratio', type: 'gauge', help: 'Lowest share of pairs covered during the steady part of the run (0..1).' },
  { name: 'pollfleet_tentacles', type: 'gauge', help: 'Tentacles in the simulated fleet.' },
  { name: 'pollfleet_nodes_never_polled', type: 'gauge', help: 'Nodes that no tentacle polled during the run.' },
  { name: 'pollfleet_node_connected_tentacles', type: 'gauge', help: 'Tentacles with an identified connection to the node at the end of the run.' },
  { name: 'pollfleet_node_polled_by_tentacles', type: 'gauge', help: 'Distinct tentacles the node sent at least one message to.' },
  { name: 'pollfleet_node_coverage_min_ratio', type: 'gauge', help: "Lowest share of the node's pairs covered during the steady part of the run." },
  { name: 'pollfleet_pickup_seconds', type: 'gauge', help: "Pickup latency of the node's queued work (time until a tentacle collected it), by quantile." },
  { name: 'pollfleet_requests_queued_total', type: 'counter', help: 'Requests the node queued for tentacles during the run.' },
  { name: 'pollfleet_requests_collected_total', type: 'counter', help: 'Queued requests a tentacle collected during the run.' },
  { name: 'pollfleet_requests_expired_total', type: 'counter', help: `Queued requests that expired uncollected (in real Octopus, each fails its RPC; retried for about ${formatRetryWindow(RPC_RETRY_DEFAULTS.windowMs)} when RPC retries are on).` },
  { name: 'pollfleet_requests_lost_after_collection_total', type: 'counter', help: 'Collected requests that failed with their connection, never requeued (in real Octopus, the RPC fails for its caller).' },
  { name: 'pollfleet_reconnects_total', type: 'counter', help: 'Connection attempts after the first one per connection during the run.' },
  { name: 'pollfleet_errors_total', type: 'counter', help: 'Connection errors during the run, by error kind.' },
  { name: 'pollfleet_check_success', type: 'gauge', help: '1 if the run passed its verdict, 0 if it failed.' },
  { name: 'pollfleet_threshold_pass', type: 'gauge', help: '1 if the threshold passed, 0 if it failed (metric: the value it read).' },
  { name: 'pollfleet_fault_recovery_seconds', type: 'gauge', help: 'Fault end to the affected pair identified again, by quantile.' },
  { name: 'pollfleet_harness_loop_delay_p50_ms', type: 'gauge', help: "The harness's own event-loop delay at p50, in ms (the fleet; node=... for an embedded node process)." },
  { name: 'pollfleet_harness_loop_delay_p99_ms', type: 'gauge', help: "The harness's own event-loop delay at p99, in ms (above ~50 ms its timings cannot be trusted)." },
  { name: 'pollfleet_harness_loop_delay_max_ms', type: 'gauge', help: "The harness's own longest event-loop delay, in ms." },
  { name: 'pollfleet_harness_steady_loop_delay_p99_ms', type: 'gauge', help: "The fleet's event-loop delay at p99 while the fleet was held (after the ramp), in ms." },
  { name: 'pollfleet_harness_steady_loop_delay_max_ms', type: 'gauge', help: "The fleet's longest event-loop delay while the fleet was held (after the ramp), in ms." },
  { name: 'pollfleet_harness_cpu_share', type: 'gauge', help: 'CPU time of the harness process over the run wall time (1 = one core busy).' },
  { name: 'pollfleet_harness_saturated', type: 'gauge', help: "1 if the fleet's loop delay or CPU share passed its limit (its timings cannot be trusted), else 0." },
  { name: 'pollfleet_last_run_timestamp_seconds', type: 'gauge', help: 'When the run finished (Unix time).' },
  { name: 'pollfleet_run_duration_seconds', type: 'gauge', help: 'How long the run lasted.' },
];

export function renderPrometheus(input: Result | Comparison): string {
  const results = isComparison(input) ? input.runs.map((r) => r.result) : [input];
  const families = new Map<string, Family>(FAMILIES.map((f) => [f.name, { ...f, samples: [] }]));
  for (const r of results) collect(r, families);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const f of families.values()) {
    if (f.samples.length === 0) continue;
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const line = `${f.name}${labelText(s.labels)}`;
      // Two runs of one comparison with the same scenario and route: keep the first.
      if (seen.has(line)) continue;
      seen.add(line);
      out.push(`${line} ${formatValue(s.value)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function collect(r: Result, families: Map<string, Family>): void {
  const base = { scenario: r.name, route: r.route };
  const add = (name: string, value: number | null | undefined, labels: Record<string, string> = {}): void => {
    if (value === null || value === undefined || !Number.isFinite(value)) return;
    families.get(name)!.samples.push({ labels: { ...base, ...labels }, value });
  };
  const s = r.summary;
  add('pollfleet_coverage_ratio', s.coverage.final);
  add('pollfleet_coverage_min_ratio', s.coverage.min);
  add('pollfleet_tentacles', s.tentacles);
  add('pollfleet_nodes_never_polled', s.nodesNeverPolled.length);
  for (const n of r.nodes) {
    const node = { node: n.name };
    add('pollfleet_node_connected_tentacles', n.connectedTentacles, node);
    add('pollfleet_node_polled_by_tentacles', n.polledBy, node);
    add('pollfleet_node_coverage_min_ratio', n.coverage.min, node);
    for (const [q, key] of QUANTILES) add('pollfleet_pickup_seconds', seconds(n.pickupMs?.[key]), { ...node, quantile: q });
    add('pollfleet_requests_queued_total', n.requests?.queued, node);
    add('pollfleet_requests_collected_total', n.requests?.collected, node);
    add('pollfleet_requests_expired_total', n.requests?.expired, node);
    add('pollfleet_requests_lost_after_collection_total', n.requests ? (n.requests.lostAfterCollection ?? 0) : undefined, node);
  }
  add('pollfleet_reconnects_total', s.reconnects);
  for (const [kind, count] of Object.entries(s.errors).sort(([a], [b]) => a.localeCompare(b))) add('pollfleet_errors_total', count, { kind });
  add('pollfleet_check_success', r.verdict.pass ? 1 : 0);
  for (const t of r.thresholds) add('pollfleet_threshold_pass', t.pass ? 1 : 0, { expression: t.expression, metric: t.metric });
  for (const f of r.faults) {
    for (const [q, key] of QUANTILES) add('pollfleet_fault_recovery_seconds', seconds(f.recoveryMs[key]), { fault: f.name, quantile: q });
  }
  if (r.harness) {
    const processes: Array<[Record<string, string>, HarnessProcess]> = [[{}, r.harness.fleet], ...Object.entries(r.harness.nodes ?? {}).map(([n, p]): [Record<string, string>, HarnessProcess] => [{ node: n }, p])];
    for (const [labels, p] of processes) {
      add('pollfleet_harness_loop_delay_p50_ms', p.loopDelayMs.p50, labels);
      add('pollfleet_harness_loop_delay_p99_ms', p.loopDelayMs.p99, labels);
      add('pollfleet_harness_loop_delay_max_ms', p.loopDelayMs.max, labels);
      add('pollfleet_harness_cpu_share', p.cpuShare, labels);
    }
    const held = r.harness.fleet.steadyLoopDelayMs;
    if (held) {
      add('pollfleet_harness_steady_loop_delay_p99_ms', held.p99);
      add('pollfleet_harness_steady_loop_delay_max_ms', held.max);
    }
    add('pollfleet_harness_saturated', r.harness.saturated ? 1 : 0);
  }
  const finished = Date.parse(r.finishedAt);
  add('pollfleet_last_run_timestamp_seconds', Number.isNaN(finished) ? null : finished / 1000);
  add('pollfleet_run_duration_seconds', r.durationMs / 1000);
}

function seconds(ms: number | null | undefined): number | null {
  return ms === null || ms === undefined ? null : ms / 1000;
}

/** Label values escape backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(15)));
}
