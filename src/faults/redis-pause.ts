import type { FaultDefinition } from './fault-definition.js';
import { redisOf } from './fault-context.js';
import { noParams, resolveNoParams, type NoParams } from './fault-params.js';

/** SIGSTOP the embedded redis-server (connections stay open, nothing answers); for: SIGCONT. */
export const redisPauseFault = {
  kind: 'redis-pause',
  params: noParams,
  resolve: resolveNoParams,
  targets: { redis: ['embedded-redis'] },
  actsOn: 'pauses the redis-server pollfleet started',
  blocksTarget: false,
  undoes: [],
  losesQueuedWork: false,
  apply: (f, ctx) => {
    redisOf(f, ctx).pause(true);
  },
  revert: (f, ctx) => {
    redisOf(f, ctx).pause(false);
  },
  describe: () => '',
  story: () => ({
    what: 'Redis was paused (SIGSTOP)',
    back: 'Redis resumed',
    note: () => 'a pause longer than the retry window makes nodes drop their tentacle connections (after a random delay) instead of sending empty polls',
  }),
} satisfies FaultDefinition<'redis-pause', typeof noParams, NoParams>;
