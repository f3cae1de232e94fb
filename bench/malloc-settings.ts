import { spawnSync } from 'node:child_process';
import { NODE_PROCESS_DEFAULTS } from '../src/scenario/defaults.js';

/**
 * Run this script again with the malloc settings the node processes get
 * (NODE_PROCESS_DEFAULTS.glibcTunables), so the fleet process -- this one -- fragments its
 * native heap no more than they do: glibc reads GLIBC_TUNABLES only when a process starts.
 * Linux only; a GLIBC_TUNABLES already set wins (`GLIBC_TUNABLES= npm run soak` runs with
 * glibc's defaults). The bench's raw baseline runs in the same process and its server child
 * inherits the setting, so both sides of every ratio share it.
 *
 * Why: one-hour soaks at 2,000 tentacles saw the fleet's RSS climb outside the V8 heap
 * (heapTotal, external memory and handles flat): 66 MiB/h with glibc's defaults, 39 MiB/h with
 * these settings. Likely cause of the difference: every message costs a deflate or inflate
 * context of a few hundred KiB, allocated and freed, and glibc's sliding mmap threshold moves
 * such blocks into the heap, where they fragment it; what remains is not explained yet.
 */
export function rerunWithMallocSettings(): void {
  if (process.platform !== 'linux' || process.env['GLIBC_TUNABLES'] !== undefined) return;
  // Ctrl-C reaches the child too (one process group): it stops and writes what it measured;
  // this parent waits for it instead of dying first and leaving it to print after the prompt.
  process.on('SIGINT', () => undefined);
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, GLIBC_TUNABLES: NODE_PROCESS_DEFAULTS.glibcTunables },
  });
  process.exit(r.status ?? 1);
}
