import t from 'tap';
import { comparisonPasses } from '../../src/verdict/comparison-verdict.js';

t.test('a comparison passes when every variant ran and behaved as expected', async (t) => {
  const run = (pass: boolean, expectedPass: boolean | null) => ({ pass, expectedPass });
  t.equal(comparisonPasses([run(true, true), run(false, false), run(true, null)], 3), true, 'expected failures are fine');
  t.equal(comparisonPasses([run(true, true), run(true, false)], 2), false, 'an unexpected pass fails the comparison');
  t.equal(comparisonPasses([run(false, null)], 1), false, 'no expectation: the variant must pass');
  t.equal(comparisonPasses([run(true, true)], 2), false, 'an interrupted comparison (a variant missing) fails');
});
