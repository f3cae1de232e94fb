import t from 'tap';
import { formatClock, formatCount, formatList, formatMs, formatPct, formatTimestamp, NOT_MEASURED, plural } from '../../src/core/format.js';

t.test('formatMs picks the unit a person reads best', async (t) => {
  const cases: Array<[number | null, string]> = [
    [null, NOT_MEASURED], [0, '0 ms'], [0.42, '0.42 ms'], [12.34, '12.3 ms'], [850, '850 ms'], [999.7, '1 s'],
    [1234, '1.23 s'], [59_990, '1 min'], [65_000, '1 min 5 s'], [3_723_000, '1 h 2 min'], [7_200_000, '2 h'], [-1500, '-1.5 s'],
  ];
  for (const [ms, text] of cases) t.equal(formatMs(ms), text, `${ms} -> ${text}`);
});

t.test('formatClock, formatPct, formatCount, lists', async (t) => {
  t.equal(formatClock(0), '0:00');
  t.equal(formatClock(30_000), '0:30');
  t.equal(formatClock(754_999), '12:34');
  t.equal(formatClock(3_723_000), '1:02:03');
  t.equal(formatPct(1), '100 %');
  t.equal(formatPct(0), '0 %');
  t.equal(formatPct(2 / 3), '66.7 %');
  t.equal(formatPct(0.9999), '99.99 %', 'never rounds a partial share up to 100 %');
  t.equal(formatPct(0.00001), '0.001 %', 'never rounds a non-zero share down to 0 %');
  t.equal(formatPct(null), NOT_MEASURED);
  t.equal(formatCount(12345), '12,345');
  t.equal(formatCount(null), NOT_MEASURED);
  t.equal(formatList(['a']), 'a');
  t.equal(formatList(['a', 'b', 'c']), 'a, b and c');
  t.equal(plural(1, 'node'), '1 node');
  t.equal(plural(3, 'node'), '3 nodes');
  t.equal(formatTimestamp('2025-05-01T10:00:00.000Z'), '2025-05-01 10:00:00 UTC');
});
