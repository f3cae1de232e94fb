import t from 'tap';
import { retryAfterMs } from '../../src/octopus-api/retry-after.js';
import { RestApiRateLimiter } from '../../src/cluster/rest-api-rate-limit.js';

t.test('Retry-After: delay-seconds or an HTTP date; anything else is unreadable', async (t) => {
  const nowMs = Date.parse('Sat, 28 Nov 2026 23:59:00 GMT');
  t.equal(retryAfterMs('12', nowMs), 12_000);
  t.equal(retryAfterMs(['3', '9'], nowMs), 3_000, 'the first of repeated headers');
  t.equal(retryAfterMs('Sat, 28 Nov 2026 23:59:41 GMT', nowMs), 41_000);
  t.equal(retryAfterMs('Sat, 28 Nov 2026 23:58:00 GMT', nowMs), 0, 'a date in the past: no wait');
  t.equal(retryAfterMs(undefined, nowMs), null);
  t.equal(retryAfterMs('', nowMs), null);
  t.equal(retryAfterMs('1.5', nowMs), null, 'not whole seconds');
  t.equal(retryAfterMs('-3', nowMs), null);
  t.equal(retryAfterMs('soon', nowMs), null);
});

t.test('the embedded API rate limiter: burst, then whole-second Retry-After until tokens refill', async (t) => {
  let clock = 0;
  const l = new RestApiRateLimiter({ requestsPerSecond: 2, burst: 3 }, () => clock);
  t.same([l.take(), l.take(), l.take()], [null, null, null], 'the burst goes through');
  t.equal(l.take(), 1, 'then 429 with Retry-After 1');
  clock += 500;
  t.equal(l.take(), null, 'one token back after 1/rate s');
  t.equal(l.take(), 1);
  const slow = new RestApiRateLimiter({ requestsPerSecond: 0.2, burst: 1 }, () => clock);
  slow.take();
  t.equal(slow.take(), 5, 'Retry-After rounds the refill time up to whole seconds');
  t.equal(l.refused + slow.refused, 3);
});
