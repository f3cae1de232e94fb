import { performance } from 'node:perf_hooks';

/**
 * Milliseconds since the Unix epoch with sub-millisecond resolution, monotonic within a
 * process (performance.timeOrigin + performance.now()). Processes of one run (fleet,
 * nodes) share the machine clock, so their timestamps compare within a millisecond or so.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
