import t from 'tap';
import { renderPreflight, type PreflightReportView } from '../../src/report/render-preflight.js';

const report = (pass: boolean): PreflightReportView => ({
  scenario: 'real',
  pass,
  warnings: ['the API key comes from the scenario file; prefer an environment variable'],
  nodes: [
    { name: 'node1', address: 'octo1.example:10943', steps: [
      { step: 'dns', status: 'pass', detail: 'octo1.example -> 10.0.0.1' },
      { step: 'tcp', status: 'pass', detail: 'connected in 2 ms', hint: 'not shown for a pass' },
    ] },
    { name: 'node2', address: 'octo2.example:10943', steps: [
      { step: 'tcp', status: pass ? 'pass' : 'fail', detail: pass ? 'connected in 3 ms' : 'connection refused', hint: 'open port 10943' },
    ] },
  ],
  cluster: [
    { step: 'api', status: 'skip', detail: 'no external.apiUrl', hint: 'set external.apiUrl' },
  ],
});

t.test('one line per step, a fix line under each failure or skip, the summary last', async (t) => {
  t.equal(renderPreflight(report(false)), [
    'preflight: real, 2 node(s)',
    'warning: the API key comes from the scenario file; prefer an environment variable',
    'node1  octo1.example:10943',
    '  PASS  dns         octo1.example -> 10.0.0.1',
    '  PASS  tcp         connected in 2 ms',
    'node2  octo2.example:10943',
    '  FAIL  tcp         connection refused',
    '                    fix: open port 10943',
    'cluster',
    '  SKIP  api         no external.apiUrl',
    '                    fix: set external.apiUrl',
    'FAIL: node node2',
    '',
  ].join('\n'));
  t.match(renderPreflight(report(true)), /\nPASS: every step passed \(some were skipped: see the fix lines\)\n$/);
});
