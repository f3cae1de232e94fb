import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeReports } from '../../src/outputs/report-files.js';
import { REPORT_FORMATS, resolveFormat } from '../../src/report/renderers.js';
import { loadComparison, loadResult } from '../helpers/report-fixtures.js';

t.test('writes every format into a new folder, no temp files left', async (t) => {
  const dir = join(t.testdir(), 'reports', 'run-1');
  const r = loadResult('result-fail-single-address');
  const paths = await writeReports(dir, r, ['md', 'html', 'junit', 'prom', 'json']);
  t.same(paths.map((p) => p.slice(dir.length + 1)), ['report.md', 'report.html', 'junit.xml', 'metrics.prom', 'result.json']);
  t.same(readdirSync(dir).sort(), ['junit.xml', 'metrics.prom', 'report.html', 'report.md', 'result.json']);
  t.same(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')), r, 'result.json round-trips');
  t.match(readFileSync(join(dir, 'metrics.prom'), 'utf8'), /pollfleet_check_success\{scenario="alb-single-address",route="alb"\} 0/);
  t.match(readFileSync(join(dir, 'report.md'), 'utf8'), /❌ FAIL/);
});

t.test('replaces an existing file in place; a comparison JSON is comparison.json', async (t) => {
  const dir = t.testdir({ 'report.md': 'old contents' });
  await writeReports(dir, loadComparison(), ['markdown', 'json', 'markdown']);
  t.same(readdirSync(dir).sort(), ['comparison.json', 'report.md']);
  t.match(readFileSync(join(dir, 'report.md'), 'utf8'), /^# pollfleet comparison: compare-routes/);
});

t.test('unknown formats are bad input naming the valid ones; nothing is written', async (t) => {
  const dir = t.testdir();
  await t.rejects(writeReports(dir, loadResult('result-pass-direct'), ['html', 'pdf']), {
    name: 'PollfleetError',
    kind: 'input.invalid',
    message: /unknown report format 'pdf': expected one of json, markdown, html, junit, prometheus/,
  });
  t.same(readdirSync(dir), []);
  t.equal(resolveFormat(' Prom '), 'prometheus');
  t.same(REPORT_FORMATS, ['json', 'markdown', 'html', 'junit', 'prometheus']);
});

t.test('extra renderers can be plugged in (e.g. the console table)', async (t) => {
  const dir = t.testdir();
  const paths = await writeReports(dir, loadResult('result-pass-direct'), ['console'], {
    renderers: { console: { file: 'summary.txt', render: (r) => `runs: ${'runs' in r ? r.runs.length : 1}\n` } },
  });
  t.equal(readFileSync(paths[0]!, 'utf8'), 'runs: 1\n');
});

t.test('a failed rename removes its temp file and leaves other files whole', async (t) => {
  // report.html is a directory, so renaming the rendered page onto it fails.
  const dir = t.testdir({ 'report.md': 'previous', 'report.html': { 'keep.txt': 'x' } });
  await t.rejects(writeReports(dir, loadResult('result-pass-direct'), ['html']));
  t.same(readdirSync(dir).sort(), ['report.html', 'report.md'], 'no temp file left behind');
  t.equal(readFileSync(join(dir, 'report.md'), 'utf8'), 'previous', 'untouched');
});
