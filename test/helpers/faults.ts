/**
 * Helpers for the fault tests: small scenarios with shortened timeouts, a run that keeps
 * every event, and the one fault result a test is about.
 */
import type { PollfleetEvent } from '../../src/core/events.js';
import type { FaultResult, Result } from '../../src/result/result.js';
import { runScenario } from '../../src/run/run-scenario.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { judge } from '../../src/verdict/judge.js';

/** A scenario object for fault runs: short protocol timings and a short back-off (1 s .. 3 s). */
export function faultScenario(over: Record<string, unknown>): Record<string, unknown> {
  return {
    name: 'faults',
    route: { kind: 'direct' },
    cluster: { nodes: 3, pollingPort: 0 },
    fleet: { tentacles: 6, rampUp: '1s' },
    workload: { interval: '1s' },
    timeouts: { pollingQueueWait: '1s', pollingRequestQueueTimeout: '4s', receiveRequestTimeout: '3s', receiveTimeout: '3s', heartbeatTimeout: '3s', keepAliveInitialDelay: '1s' },
    backoff: { min: '1s', max: '3s' },
    staleness: '3s',
    ...over,
  };
}

export async function runWithEvents(raw: Record<string, unknown>, workDir: string, signal?: AbortSignal): Promise<{ result: Result; events: PollfleetEvent[] }> {
  const events: PollfleetEvent[] = [];
  const s = scenarioFromObject(raw, 'test');
  const measured = await runScenario(s, {
    workDir,
    toolVersion: 'test',
    onEvent: (e) => events.push(e),
    ...(signal ? { signal } : {}),
  });
  return { result: judge(measured, s), events };
}

export function fault(r: Result, name: string): FaultResult {
  const f = r.faults.find((x) => x.name === name);
  if (!f) throw new Error(`no fault ${name} in the result (faults: ${r.faults.map((x) => x.name).join(', ')})`);
  return f;
}

/** The fault's start and end as epoch ms, from the run's start time. */
export function faultWindow(r: Result, f: FaultResult): { start: number; end: number | null } {
  const start = Date.parse(r.startedAt) + f.atMs;
  return { start, end: f.forMs === null ? null : start + f.forMs };
}
