import { readFileSync } from 'node:fs';
import { PollfleetError } from '../core/errors.js';

/** Room left for everything that is not a polling socket (the REST API, files, pipes, the balancer's own). */
const FD_ROOM = 1_000;

export interface OpenFileLimits {
  soft: number;
  hard: number;
}

/** This process's open-file limits from /proc/self/limits (Linux); null where unknown. */
export function readOpenFileLimits(text?: string): OpenFileLimits | null {
  try {
    const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(text ?? readFileSync('/proc/self/limits', 'utf8'));
    const n = (x: string) => (x === 'unlimited' ? Infinity : Number(x));
    return m ? { soft: n(m[1]!), hard: n(m[2]!) } : null;
  } catch {
    return null;
  }
}

/**
 * Refuse a fleet whose sockets cannot all be open in one process: every polling connection is a
 * file descriptor of the fleet process (worker threads share them), and of a node process on the
 * embedded cluster. Past the limit, connects fail with EMFILE one by one and the run would report
 * a cluster problem that is the machine's. Unknown limits (not Linux) are not checked.
 */
export function checkOpenFiles(fleetSockets: number, limits: OpenFileLimits | null = readOpenFileLimits()): void {
  if (!limits || fleetSockets + FD_ROOM <= limits.soft) return;
  const fits = limits.hard >= fleetSockets + FD_ROOM;
  throw new PollfleetError(
    'environment.failed',
    `the fleet needs ${fleetSockets} sockets in this process, but it may open only ${limits.soft} files (ulimit -n; hard limit ${limits.hard === Infinity ? 'unlimited' : limits.hard})`,
    {
      hint: fits
        ? `raise the limit before the run (ulimit -n ${fleetSockets + FD_ROOM}), or use fewer tentacles`
        : `the hard limit is too low for one process: use fewer tentacles, or shards (run --shard i/n) on several processes or machines against one cluster`,
    },
  );
}
