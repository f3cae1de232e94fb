import t from 'tap';
import { pickupHeadroom, taskCountsLine } from '../../src/report/pickup-headroom.js';
import type { Summary } from '../../src/result/result.js';

function summary(p99: number | null, limit: number | undefined, expired = 0): Summary {
  return {
    pickupMs: p99 === null ? null : { count: 10, min: 1, p50: 1, p90: p99, p99, max: p99, mean: 1, histogram: '' },
    requests: { queued: 10, collected: 10, expired, answered: 10, pendingAtEnd: 0 },
    ...(limit === undefined ? {} : { pickupLimitMs: limit }),
  } as unknown as Summary;
}

t.test('headroom against the queue timeout', async (t) => {
  t.equal(pickupHeadroom(summary(101_000, 120_000)), 'p99 pickup 1 min 41 s of the 2 min limit: 16 % headroom');
  t.equal(pickupHeadroom(summary(500, 10_000)), 'p99 pickup 500 ms of the 10 s limit: 95 % headroom');
  t.equal(pickupHeadroom(summary(12_000, 10_000)), 'p99 pickup 12 s of the 10 s limit: no headroom, requests expire');
  t.equal(pickupHeadroom(summary(7_000, 10_000, 25)), 'p99 pickup 7 s of the 10 s limit, and 25 requests not collected within it expired: no headroom', 'expired requests are not in the pickup figures');
  t.equal(pickupHeadroom(summary(null, 10_000)), null, 'nothing collected: nothing to say');
  t.equal(pickupHeadroom(summary(500, undefined)), null, 'older Results have no limit');
});

t.test('finished tasks per kind and state', async (t) => {
  const s = { tasks: { health: { Success: 104, Failed: 13 }, upload: { Success: 9 } } } as unknown as Summary;
  t.equal(taskCountsLine(s), 'tasks: health 104 Success, 13 Failed | upload 9 Success');
  t.equal(taskCountsLine({} as Summary), null, 'older Results and external runs have none');
});
