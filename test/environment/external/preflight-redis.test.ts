import { spawn } from 'node:child_process';
import t from 'tap';
import { RedisServer } from '../../../src/cluster/redis/redis-server.js';
import { lintRedis } from '../../../src/environment/external/preflight-redis.js';
import { testNeeding } from '../../helpers/system-binary.js';

const NEEDS = ['redis-server', 'apt-get install redis-server'] as const;

testNeeding(t, ...NEEDS, 'a Redis as multi-node polling needs it (noeviction, no persistence, primary) passes', async (t, path) => {
  const redis = new RedisServer(path);
  await redis.start();
  t.teardown(() => redis.stop());
  const step = await lintRedis(redis.url, 2_000);
  t.equal(step.status, 'pass', step.detail);
  t.equal(step.step, 'redis');
});

testNeeding(t, ...NEEDS, 'allkeys-lru, RDB snapshots, AOF and the replica role are each flagged', async (t, path) => {
  const redis = new RedisServer(path);
  await redis.start();
  t.teardown(() => redis.stop());
  // Misconfigure it the way a default install often is.
  const cli = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(path.replace(/redis-server$/, 'redis-cli'), ['-p', String(redis.port), ...args], { stdio: 'ignore' });
      c.on('error', reject);
      c.on('exit', () => resolve());
    });
  await cli(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']);
  await cli(['CONFIG', 'SET', 'save', '3600 1']);
  await cli(['CONFIG', 'SET', 'appendonly', 'yes']);
  const step = await lintRedis(redis.url, 2_000);
  t.equal(step.status, 'fail');
  t.match(step.detail, /maxmemory-policy is allkeys-lru/);
  t.match(step.detail, /RDB snapshots are on/);
  t.match(step.detail, /appendonly is yes/);
  t.ok(step.hint);
  // A replica of the (now fixed) primary is flagged for its role alone.
  await cli(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
  await cli(['CONFIG', 'SET', 'save', '']);
  await cli(['CONFIG', 'SET', 'appendonly', 'no']);
  const replica = new RedisServer(path);
  await replica.start();
  t.teardown(() => replica.stop());
  await new Promise<void>((resolve, reject) => {
    const c = spawn(path.replace(/redis-server$/, 'redis-cli'), ['-p', String(replica.port), 'REPLICAOF', '127.0.0.1', String(redis.port)], { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', () => resolve());
  });
  const r = await lintRedis(replica.url, 2_000);
  t.equal(r.status, 'fail');
  t.match(r.detail, /role is slave/);
  t.notMatch(r.detail, /maxmemory-policy/);
});

t.test('an unreachable Redis fails the step without its password', async (t) => {
  const step = await lintRedis('redis://:secretpw@127.0.0.1:1', 1_000);
  t.equal(step.status, 'fail');
  t.match(step.detail, /not reachable/);
  t.notMatch(step.detail, /secretpw/);
});
