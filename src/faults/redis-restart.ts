import type { FaultDefinition } from './fault-definition.js';
import { redisOf } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/**
 * Kill the embedded redis-server and start it again on the same port, without persistence:
 * Redis comes back empty. Nodes detect the data loss (their marker key is gone) and cancel
 * the requests they had in flight (counted as redis-queue request-failed:data-lost).
 */
export const redisRestartFault = {
  kind: 'redis-restart',
  params: noParams,
  resolve: resolveNoParams,
  targets: { redis: ['embedded-redis'] },
  actsOn: 'restarts the redis-server pollfleet started',
  blocksTarget: false,
  undoes: ['redis-kill'],
  losesQueuedWork: false,
  apply: async (f, ctx) => {
    await redisOf(f, ctx).restart();
  },
  describe: () => 'all data lost',
  story: () => ({
    what: 'Redis was restarted without persistence (all queued work and stored responses lost)',
    back: 'the nodes reconnected',
    note: () => 'nodes notice the lost data within their data-loss check interval and fail the requests they had in flight',
  }),
} satisfies FaultDefinition<'redis-restart', typeof noParams, NoParams>;
