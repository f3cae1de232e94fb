/** The sharded bench's up-front open-file check: per shard process and per node process. */
import t from 'tap';
import { PollfleetError } from '../../src/core/errors.js';
import { checkShardedOpenFiles, shardSockets, shardsThatFit } from '../../bench/sharded-hold.js';

const LIMIT = { soft: 20_000, hard: 20_000 };

t.test('a shard holds its slice of the fleet once per node, the largest slice counting', async (t) => {
  t.equal(shardSockets(10_000, 3, 2), 15_000);
  t.equal(shardSockets(10_001, 3, 2), 15_003);
});

t.test('10,000 tentacles x 3 nodes fit in 2 shards under a 20,000 limit', async (t) => {
  t.doesNotThrow(() => checkShardedOpenFiles(10_000, 3, 2, LIMIT));
  t.doesNotThrow(() => checkShardedOpenFiles(10_000, 3, 2, null), 'unknown limits are not checked');
});

t.test('too few shards: refused, naming the shard count that fits', async (t) => {
  const e = t.throws(() => checkShardedOpenFiles(15_000, 3, 2, LIMIT)) as PollfleetError;
  t.ok(e instanceof PollfleetError);
  t.match(e.message, /22500 sockets each/);
  t.match(e.hint ?? '', /--shards 3 \(15000 sockets per shard\)/);
});

t.test('a node process holds every tentacle: refused whatever the shard count', async (t) => {
  const e = t.throws(() => checkShardedOpenFiles(20_000, 3, 4, LIMIT)) as PollfleetError;
  t.match(e.message, /each node process holds all 20000 tentacles/);
  t.match(e.hint ?? '', /no shard count helps/);
});

t.test('the fewest shards that fit, or none when a node process cannot', async (t) => {
  t.equal(shardsThatFit(10_000, 3, LIMIT), 2);
  t.equal(shardsThatFit(15_000, 3, LIMIT), 3);
  t.equal(shardsThatFit(1_000, 3, LIMIT, 1), 1, 'a small fleet fits in one process');
  t.equal(shardsThatFit(20_000, 3, LIMIT), null);
});
