import t from 'tap';
import { expectPass, runRoute } from '../../helpers/routes.js';
import { startRedis } from '../../helpers/redis-server.js';
import { testNeeding } from '../../helpers/system-binary.js';

testNeeding(t, 'redis-server', 'apt-get install redis-server', 'single-address with the queue in a real Redis passes, nodes in their own processes', async (t, path) => {
  const url = await startRedis(t, path);
  const r = await runRoute(t, { kind: 'single-address' }, { queue: 'redis', redisUrl: url });
  expectPass(t, r);
  t.equal(r.queue, 'redis');
  const servedElsewhere = r.nodes.filter((n) => (n.requests?.collected ?? 0) > 0);
  t.equal(servedElsewhere.length, 3, 'every node\'s work was collected although each tentacle polls one node');
});
