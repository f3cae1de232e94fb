import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { openRunOutputs, publishRun, NO_RUN_OUTPUTS } from '../../src/outputs/run-outputs.js';
import { writeResultFile } from '../../src/outputs/result-file.js';
import { loadComparison, loadResult } from '../helpers/report-fixtures.js';
import { recordingGateway } from '../helpers/scheduled-check.js';

function stderr() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString()));
  return { stream: s, text: () => text };
}

t.test('result.json / comparison.json: written whole, no temp file left', async (t) => {
  const dir = join(t.testdir(), 'run');
  const r = loadResult('result-pass-direct');
  t.equal(writeResultFile(dir, r), join(dir, 'result.json'));
  t.same(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')), r);
  t.equal(readFileSync(join(dir, 'result.json'), 'utf8'), `${JSON.stringify(r, null, 2)}\n`, 'same text as before: two-space JSON and a newline');
  const c = loadComparison();
  t.equal(writeResultFile(dir, c), join(dir, 'comparison.json'));
  t.same(readdirSync(dir).sort(), ['comparison.json', 'result.json']);
});

t.test('a published run: its files, one history row, one push', async (t) => {
  const gw = await recordingGateway(t);
  const dir = t.testdir();
  const outputs = openRunOutputs({ history: join(dir, 'h', 'history.sqlite'), pushgateway: gw.url });
  t.teardown(() => outputs.close());
  const err = stderr();
  const r = loadResult('result-fail-single-address');
  const path = await publishRun(outputs, join(dir, 'run'), r, 'md,prom', err.stream);
  t.equal(path, join(dir, 'run', 'result.json'));
  t.same(readdirSync(join(dir, 'run')).sort(), ['metrics.prom', 'report.md', 'result.json']);
  const rows = outputs.history!.list();
  t.same(rows.map((x) => [x.scenario, x.pass, x.resultPath]), [[r.name, false, path]]);
  t.equal(gw.seen.length, 1);
  t.equal(gw.seen[0]!.url, `/metrics/job/pollfleet/instance/${r.name}`);
  t.equal(gw.seen[0]!.body, readFileSync(join(dir, 'run', 'metrics.prom'), 'utf8'), 'pushes what metrics.prom holds');
  t.equal(err.text(), '');
});

t.test('an interrupted run is not kept; an unreachable gateway is a warning only', async (t) => {
  const dir = t.testdir();
  // Nothing listens on port 1: the push is refused at once.
  const outputs = openRunOutputs({ history: join(dir, 'history.sqlite'), pushgateway: 'http://127.0.0.1:1' });
  t.teardown(() => outputs.close());
  const err = stderr();
  const r = { ...loadResult('result-pass-direct'), interrupted: true };
  await publishRun(outputs, join(dir, 'run'), r, 'md', err.stream);
  t.same(outputs.history!.list(), [], 'nothing appended');
  t.match(err.text(), /the run was interrupted; not added to the history/);
  t.match(err.text(), /pollfleet: warning: could not push metrics to the Pushgateway at http:\/\/127\.0\.0\.1:1\/.*\(the exit code is unchanged\)/);
  t.ok(existsSync(join(dir, 'run', 'result.json')), 'the partial run still has its files');
});

t.test('bad outputs are bad input before the run; none at all is fine', async (t) => {
  t.throws(() => openRunOutputs({ pushgateway: 'ftp://x' }), { kind: 'input.invalid', message: /must start with http/ });
  const dir = t.testdir({ 'a-file': 'x' });
  t.throws(() => openRunOutputs({ history: join(dir, 'a-file', 'history.sqlite') }), { kind: 'input.invalid', message: /cannot open the history store/ });
  const none = openRunOutputs({});
  t.same([none.history, none.pushgateway], [null, null]);
  none.close();
  const err = stderr();
  await publishRun(NO_RUN_OUTPUTS, join(dir, 'run'), loadResult('result-pass-direct'), undefined, err.stream);
  t.same(readdirSync(join(dir, 'run')).sort(), ['junit.xml', 'metrics.prom', 'report.html', 'report.md', 'result.json'], 'every report by default');
  t.equal(err.text(), '');
});
