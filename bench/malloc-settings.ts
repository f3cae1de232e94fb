import { spawnSync } from 'node:child_process';
import { NODE_PROCESS_DEFAULTS } from '../src/scenario/defaults.js';

/**
 * The soak's settings: the nodes' (NODE_PROCESS_DEFAULTS.glibcTunables) and glibc's perturb byte, which makes malloc write
 * every block it hands out (and every block freed). RSS then counts each allocated byte from
 * the moment it is allocated, not from when the program first writes to its page -- so the
 * soak's "memory flat" sees allocations that grow, and not pages of blocks allocated long ago
 * coming into residence.
 *
 * Why: a process holding thousands of TLS connections allocates per connection more than it
 * writes to (below: ~107 KB allocated per connection, ~40 KiB resident after the handshake;
 * which blocks those are was not traced). Measured on a bare `node:tls` server holding 2,000 mutual-TLS
 * connections from another process, every connection reset together every 20-25 s and
 * re-opened at once (2-core machine, Node 20.20.2, other experiments beside it, these settings
 * without the perturb byte): RSS 144 -> 247 MiB over five storms, in shrinking steps (+35, +27,
 * +18, +13 MiB), yet glibc's malloc_stats (read with gdb, in two more runs of the same set-up)
 * showed 222 MB allocated before the first storm and 215 MB after the fifth -- the same
 * allocations; the blocks of the large
 * buffers that were mapped on their own at first (and only partly written) are later carved
 * from heap pages the storms' small allocations had written. With every connection closed, 7.5
 * MB stayed allocated (nothing kept), and malloc_trim(0) gave RSS back (256 -> 98 MiB). With
 * the perturb byte the same server started at 278 MiB and stayed at 272-281 MiB over four
 * storms (two runs: -2.5 %, +0.9 %). Without it RSS levels off at the allocated size after many
 * storms; a leak climbs either way. jemalloc (LD_PRELOAD), glibc's default thresholds, a 4 KiB
 * mmap threshold, no tcache, no fastbins, a GC right after the reset and a 1 s TLS session
 * timeout all climbed the same steps. Costs: a memset of each block allocated and freed
 * (a zlib context per message: a few hundred KiB), and RSS from the start at the allocated size.
 */
export const SOAK_GLIBC_TUNABLES = `${NODE_PROCESS_DEFAULTS.glibcTunables}:glibc.malloc.perturb=165`;

/**
 * Run this script again with the malloc settings the node processes get
 * (NODE_PROCESS_DEFAULTS.glibcTunables, or `tunables`), so the fleet process -- this one -- fragments its
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
export function rerunWithMallocSettings(tunables: string = NODE_PROCESS_DEFAULTS.glibcTunables): void {
  if (process.platform !== 'linux' || process.env['GLIBC_TUNABLES'] !== undefined) return;
  // Ctrl-C reaches the child too (one process group): it stops and writes what it measured;
  // this parent waits for it instead of dying first and leaving it to print after the prompt.
  process.on('SIGINT', () => undefined);
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, GLIBC_TUNABLES: tunables },
  });
  process.exit(r.status ?? 1);
}
