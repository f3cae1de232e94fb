/**
 * A node that collects one request through the Redis queue and then holds it forever (the
 * test SIGKILLs it): argv = redis URL, namespace, subscription.
 */
import { RedisQueue } from '../../src/cluster/redis-queue.js';

const [url, namespace, subscription] = process.argv.slice(2) as [string, string, string];
const q = new RedisQueue({ url, namespace, node: 'node2', expiryTickMinMs: 50, settings: { heartbeatInitialDelayMs: 100, heartbeatIntervalMs: 200 } });
await q.connect();
const item = await q.take(subscription, 'node2', 10_000, new AbortController().signal);
process.send!({ took: item?.key ?? null });
setInterval(() => undefined, 1_000);
