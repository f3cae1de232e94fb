import t from 'tap';
import { renderCheckLine } from '../../src/report/render-check-line.js';
import { loadResult } from '../helpers/report-fixtures.js';

t.test('a pass: the figures and the folder', async (t) => {
  t.equal(renderCheckLine(loadResult('result-pass-direct'), 'reports/direct-1'), 'pollfleet check direct-3-nodes: PASS coverage 100 % pickup p99 58 ms expired 0 lost 0 (reports/direct-1)');
});

t.test('a failure: the first reason and how many more', async (t) => {
  t.equal(
    renderCheckLine(loadResult('result-fail-single-address'), '/tmp/r'),
    'pollfleet check alb-single-address: FAIL coverage.min was 33.3 %, expected >= 100 % (+4 more); coverage 33.3 % pickup p99 70 ms expired 24 lost 0 (/tmp/r)',
  );
  const one = loadResult('result-fail-single-address');
  one.verdict.reasons = ['requests.expired was 3, expected == 0'];
  one.summary.requests = null;
  t.match(renderCheckLine(one, 'd'), /: FAIL requests\.expired was 3, expected == 0; coverage 33\.3 % pickup p99 70 ms expired — lost — \(d\)$/);
});
