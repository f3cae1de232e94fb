import t from 'tap';
import { RENDERERS, REPORT_FORMATS, reportFileName, reportFormats, resolveFormat } from '../../src/report/renderers.js';
import { loadComparison, loadResult } from '../helpers/report-fixtures.js';

t.test('format names, aliases and the --format list', async (t) => {
  t.same(REPORT_FORMATS, ['json', 'markdown', 'html', 'junit', 'prometheus']);
  t.same(['md', 'prom', 'xml', ' HTML '].map(resolveFormat), ['markdown', 'prometheus', 'junit', 'html']);
  t.throws(() => resolveFormat('pdf'), { kind: 'input.invalid', message: /unknown report format 'pdf': expected one of json, markdown, html, junit, prometheus/ });
  t.same(reportFormats(undefined), ['markdown', 'html', 'junit', 'prometheus'], 'default: every report; the JSON is written by the run itself');
  t.same(reportFormats('md, json,,prom'), ['markdown', 'prometheus']);
  t.throws(() => reportFormats('md,pdf'), { kind: 'input.invalid', message: /'pdf'/ });
});

t.test('file names: a comparison JSON is comparison.json', async (t) => {
  t.equal(reportFileName(RENDERERS.json, 'json', loadResult('result-pass-direct')), 'result.json');
  t.equal(reportFileName(RENDERERS.json, 'json', loadComparison()), 'comparison.json');
  t.equal(reportFileName(RENDERERS.markdown, 'markdown', loadComparison()), 'report.md');
  t.equal(RENDERERS.json.render(loadResult('result-pass-direct')), `${JSON.stringify(loadResult('result-pass-direct'), null, 2)}\n`);
});
