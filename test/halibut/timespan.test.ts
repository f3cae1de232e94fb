import t from 'tap';
import { formatTimeSpan, parseTimeSpan } from '../../src/halibut/timespan.js';

t.test('TimeSpans are written as .NET writes them ("c" format)', async (t) => {
  const cases: [number, string][] = [
    [0, '00:00:00'],
    [1_000, '00:00:01'],
    [30_000, '00:00:30'],
    [60_000, '00:01:00'],
    [120_000, '00:02:00'],
    [300_000, '00:05:00'],
    [3_600_000, '01:00:00'],
    [86_399_000, '23:59:59'],
    [86_400_000, '1.00:00:00'],
    [90_061_000, '1.01:01:01'],
    [1_500, '00:00:01.5000000'],
    [1, '00:00:00.0010000'],
    [-120_000, '-00:02:00'],
  ];
  for (const [ms, text] of cases) {
    t.equal(formatTimeSpan(ms), text, `${ms} ms`);
    t.equal(parseTimeSpan(text), ms, `parse ${text}`);
  }
  t.equal(parseTimeSpan('0:02:00'), 120_000, 'one-digit hours are accepted');
  t.throws(() => formatTimeSpan(Number.NaN), RangeError);
  for (const bad of ['', '2 minutes', '00:02', '00:60:00x', '1.2.00:00:00']) {
    t.throws(() => parseTimeSpan(bad), RangeError, `rejects ${JSON.stringify(bad)}`);
  }
});
