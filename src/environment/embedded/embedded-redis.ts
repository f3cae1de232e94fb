import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PollfleetError } from '../../core/errors.js';
import type { EmbeddedRedis } from '../../cluster/embedded-cluster.js';
import { RedisServer } from '../../cluster/redis/redis-server.js';
import { FaultProxy } from '../../network/toxics/fault-proxy.js';
import { FAULT_DEFAULTS } from '../../scenario/defaults.js';

/**
 * The Redis of an embedded cluster with `queue: redis` and no `redisUrl`: a redis-server
 * pollfleet starts on loopback, and a fault proxy the nodes reach it through (for
 * redis-latency). Redis faults (src/faults/redis-*.ts) act on it through FaultRedis.
 */
/** Where redis-server is installed, or null. */
export function findRedisServer(): string | null {
  for (const dir of [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/bin']) {
    if (!dir) continue;
    const p = join(dir, 'redis-server');
    if (existsSync(p)) return p;
  }
  return null;
}

export async function startEmbeddedRedis(program = findRedisServer()): Promise<EmbeddedRedis> {
  if (program === null) {
    throw new PollfleetError('environment.failed', 'cluster.queue: redis without cluster.redisUrl needs redis-server on this machine', {
      hint: 'install it (apt-get install redis-server) or point cluster.redisUrl at a Redis',
    });
  }
  const server = new RedisServer(program);
  await server.start();
  const proxy = new FaultProxy({ name: 'fault proxy for Redis', host: server.host, port: 0, upstream: { host: server.host, port: server.port }, connectTimeoutMs: FAULT_DEFAULTS.proxyConnectTimeoutMs });
  try {
    await proxy.start();
  } catch (e) {
    await server.stop();
    throw e;
  }
  return {
    url: `redis://${server.host}:${proxy.port}`,
    proxy,
    restart: () => server.restart(),
    kill: () => server.kill(),
    start: () => server.start(),
    pause: (on) => server.pause(on),
    stop: async () => {
      await proxy.stop();
      await server.stop();
    },
  };
}
