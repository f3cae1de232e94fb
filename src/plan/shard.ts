import { PollfleetError } from '../core/errors.js';
import type { Scenario } from '../scenario/resolve.js';

/** `--shard i/n` -> { index, count }; 1 <= i <= n. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new PollfleetError('input.invalid', `--shard ${JSON.stringify(text)}: expected i/n with 1 <= i <= n, e.g. --shard 2/3 (the second of three shards)`);
  }
  return { index, count };
}

/**
 * The i-th of n slices of a fleet of T tentacles: [floor(T(i-1)/n), floor(Ti/n)). Slices are
 * disjoint, cover the fleet, and differ in size by at most one.
 */
export function shardSlice(totalTentacles: number, index: number, count: number): { first: number; size: number } {
  const first = Math.floor((totalTentacles * (index - 1)) / count);
  const end = Math.floor((totalTentacles * index) / count);
  return { first, size: end - first };
}

/**
 * The scenario one shard runs: its slice of the fleet (every tentacle of it gets its own
 * certificate and subscription, as always, so shards share nothing), `fleet.overrides`
 * re-indexed to the slice, the synthetic registration count with it. The ramp keeps its
 * length, so n shards together ramp the whole fleet in the scenario's time.
 *
 * Only external targets shard: an embedded target would start one cluster per shard, and
 * merged numbers of n clusters describe none of them. Shard against a real cluster, or
 * against a standalone `pollfleet cluster` as an external target (its cluster.json).
 */
export function shardScenario(s: Scenario, shard: { index: number; count: number }, file: string): Scenario {
  if (s.target !== 'external' || !s.external) {
    throw new PollfleetError('input.invalid', `--shard: ${file}: shards need an external target (every shard would start its own embedded cluster)`, {
      hint: 'start one cluster with `pollfleet cluster --state-dir DIR` and point an external scenario at it (cluster.json holds the addresses, thumbprint and API key)',
    });
  }
  const T = s.fleet.tentacles;
  const { first, size } = shardSlice(T, shard.index, shard.count);
  if (size === 0) {
    throw new PollfleetError('input.invalid', `--shard ${shard.index}/${shard.count}: ${file}: fleet.tentacles is ${T}, so this shard would run no tentacle -- use at most ${T} shards`);
  }
  const end = first + size - 1;
  const overrides = s.fleet.overrides
    .filter((o) => o.to >= first && o.from <= end)
    .map((o) => ({ ...o, from: Math.max(o.from, first) - first, to: Math.min(o.to, end) - first }));
  // Each shard keeps its own ledger: shards on one machine would otherwise rewrite one file
  // concurrently and lose entries -- machines nobody would delete.
  const register = s.external.register ? { ...s.external.register, count: size, ledgerFile: shardLedgerFile(s.external.register.ledgerFile, shard) } : null;
  return {
    ...s,
    fleet: { ...s.fleet, tentacles: size, overrides },
    external: { ...s.external, register },
    shard: { index: shard.index, count: shard.count, firstTentacle: first, tentacles: size, totalTentacles: T },
  };
}

/** `ledger.json` -> `ledger.shard-2-of-3.json`: the ledger one shard writes (`pollfleet cleanup --ledger` takes it). */
export function shardLedgerFile(file: string, shard: { index: number; count: number }): string {
  const tag = `.shard-${shard.index}-of-${shard.count}`;
  const m = /^(.*?)(\.[^./\\]+)?$/.exec(file)!;
  return `${m[1]}${tag}${m[2] ?? ''}`;
}
