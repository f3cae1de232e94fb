import t from 'tap';
import { BackoffClock, backoffDelayMs } from '../../src/tentacle/backoff.js';
import { BACKOFF_DEFAULTS } from '../../src/scenario/defaults.js';

const policy = { minMs: BACKOFF_DEFAULTS.minMs, maxMs: BACKOFF_DEFAULTS.maxMs };

t.test('pure policy: clamp(elapsed x m, min, max)', async (t) => {
  t.equal(backoffDelayMs(0, 1.5, policy), 5_000, 'no elapsed time -> min');
  t.equal(backoffDelayMs(3_000, 1.5, policy), 5_000, '4.5 s is below min -> min');
  t.equal(backoffDelayMs(10_000, 1.5, policy), 15_000, 'elapsed x m');
  t.equal(backoffDelayMs(100_000, 1.5, policy), 120_000, 'capped at max');
  t.equal(backoffDelayMs(-5, 1.9, policy), 5_000, 'negative elapsed (clock skew) -> min');
});

t.test('multiplier is 1 + random, fixed per connection', async (t) => {
  const draws = [0.25, 0.9];
  const clock = new BackoffClock(policy, () => draws.shift()!);
  t.equal(clock.multiplier, 1.25);
  t.equal(draws.length, 1, 'random is drawn once, at construction');
  t.equal(new BackoffClock(policy, () => 0).multiplier, 1);
});

t.test('first failure waits min; delays grow with elapsed time x m; capped at max', async (t) => {
  const clock = new BackoffClock(policy, () => 0.5); // m = 1.5
  const t0 = 1_000_000;
  t.equal(clock.failed(t0 + 20, t0), 5_000, 'a fast failure -> min');
  // The clock keeps running across sleeps: the next failure comes after the 5 s sleep.
  t.equal(clock.failed(t0 + 5_040), 5_040 * 1.5, 'elapsed since the first attempt x m');
  t.equal(clock.failed(t0 + 12_600), 12_600 * 1.5);
  t.equal(clock.failed(t0 + 31_500), 31_500 * 1.5);
  t.equal(clock.failed(t0 + 81_000), 120_000, 'capped at max');
  t.equal(clock.failed(t0 + 3_600_000), 120_000, 'stays at max');
});

t.test('a slow first failure (e.g. a connect timeout) already waits elapsed x m', async (t) => {
  const clock = new BackoffClock(policy, () => 0.5);
  t.equal(clock.failed(60_000, 0), 90_000, '60 s connect timeout x 1.5');
});

t.test('identification resets the clock: the next failure waits min, then growth restarts', async (t) => {
  const clock = new BackoffClock(policy, () => 0.5);
  clock.failed(0);
  t.equal(clock.failed(100_000), 120_000, 'long outage -> max');
  clock.identified();
  t.equal(clock.failed(5_000_000, 1_000_000), 5_000, 'dropped after identifying -> min, however long it was up');
  // The clock starts again with the next attempt (the one after that min sleep).
  t.equal(clock.failed(5_005_010, 5_005_000), 5_000, 'a quick failure of the retry -> min');
  t.equal(clock.failed(5_015_000), 10_000 * 1.5, 'grows from the retry attempt start');
});

t.test('bad policies are refused with a clear message', async (t) => {
  t.throws(() => new BackoffClock({ minMs: 10, maxMs: 5 }), /minMs <= maxMs/);
  t.throws(() => new BackoffClock({ minMs: -1, maxMs: 5 }), /minMs/);
});
