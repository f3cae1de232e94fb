import t from 'tap';
import { maxOf, minOf } from '../../src/core/numbers.js';

t.test('maxOf / minOf: any length, the empty value for none', async (t) => {
  t.equal(maxOf([3, -1, 7, 2], 0), 7);
  t.equal(minOf([3, -1, 7, 2], 0), -1);
  t.equal(maxOf([], 42), 42);
  t.equal(minOf([], 42), 42);
  t.equal(maxOf([-5, -3], 0), -3, 'all negative: not the empty value');
  const big = Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 300_001);
  t.throws(() => Math.max(...big), RangeError, 'the spread it replaces throws at this length');
  t.equal(maxOf(big, 0), big.reduce((a, b) => Math.max(a, b)));
  t.equal(minOf(big, 0), big.reduce((a, b) => Math.min(a, b)));
});
