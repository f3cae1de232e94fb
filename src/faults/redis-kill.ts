import type { FaultDefinition } from './fault-definition.js';
import { redisOf } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** SIGKILL the embedded redis-server; for: start it again (empty: no persistence). */
export const redisKillFault = {
  kind: 'redis-kill',
  params: noParams,
  resolve: resolveNoParams,
  targets: { redis: ['embedded-redis'] },
  actsOn: 'kills the redis-server pollfleet started',
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: async (f, ctx) => {
    await redisOf(f, ctx).kill();
  },
  revert: async (f, ctx) => {
    await redisOf(f, ctx).start();
  },
  describe: () => '',
  story: () => ({
    what: 'Redis was killed (SIGKILL)',
    back: 'Redis was started again, empty',
    note: () => 'every Redis operation is retried for its retry window; a node that cannot dequeue drops its tentacle connections after a random delay',
  }),
} satisfies FaultDefinition<'redis-kill', typeof noParams, NoParams>;
