import { PollfleetError } from '../../core/errors.js';
import { EXTERNAL_SAFETY_DEFAULTS } from '../../scenario/defaults.js';
import { formatDuration } from '../../scenario/duration.js';
import type { Scenario } from '../../scenario/resolve.js';

/**
 * Safety rails for real clusters: by default a run against an external target stays small
 * (fleet size, connections, registration rate, duration), so pointing pollfleet at
 * production by mistake cannot hurt it. `--i-understand-load` or `external.allowLoad: true`
 * lifts the limits.
 */
export function externalSafetyProblems(s: Scenario): string[] {
  const ext = s.external;
  if (!ext || ext.allowLoad) return [];
  const L = EXTERNAL_SAFETY_DEFAULTS;
  const out: string[] = [];
  // A shard is judged by what every shard together does to the cluster: sharding must not
  // slip a fleet past the limits one process would have been held to.
  const tentacles = s.shard?.totalTentacles ?? s.fleet.tentacles;
  const shards = s.shard ? ` (all ${s.shard.count} shards together)` : '';
  const connections = tentacles * s.fleet.pollingConnectionCount * ext.nodes.length;
  if (tentacles > L.maxTentacles) out.push(`fleet.tentacles ${tentacles} is above the limit of ${L.maxTentacles} for a real cluster`);
  if (connections > L.maxConnections) out.push(`${connections} polling connections${shards} (tentacles x pollingConnectionCount x nodes) is above the limit of ${L.maxConnections}`);
  const rate = ext.register ? ext.register.ratePerSecond * (s.shard?.count ?? 1) : 0;
  if (ext.register && rate > L.maxRegistrationsPerSecond) {
    out.push(`${s.shard ? `${s.shard.count} shards x ` : ''}external.register.ratePerSecond ${ext.register.ratePerSecond}${s.shard ? ` = ${rate}` : ''} is above the limit of ${L.maxRegistrationsPerSecond} registrations per second`);
  }
  const total = s.fleet.rampUpMs + s.durationMs;
  if (total > L.maxDurationMs) out.push(`rampUp + duration ${formatDuration(total)} is above the limit of ${formatDuration(L.maxDurationMs)}`);
  return out;
}

/** Throws (exit 2, before any socket is opened) when a limit is exceeded. */
export function checkExternalSafety(s: Scenario): void {
  const problems = externalSafetyProblems(s);
  if (problems.length) {
    throw new PollfleetError('input.invalid', `safety limits for a real cluster:\n  ${problems.join('\n  ')}`, {
      hint: 'if this load is intended, pass --i-understand-load (or set external.allowLoad: true); --plan shows what would be opened and registered',
    });
  }
}
