import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnCli } from '../helpers/run.js';

// `pollfleet report` through the real CLI process: a broken or foreign file is bad input
// (exit 2, one line naming the file and the field, no stack); a good one still renders.
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const fault = JSON.parse(readFileSync(join(FIXTURES, 'result-fault.json'), 'utf8')) as Record<string, any>;
fault['summary'].coverage.final = 'all';

const cases: { name: string; text: string; field: RegExp }[] = [
  { name: 'a wrong type', text: JSON.stringify(fault), field: /summary\.coverage\.final: expected a number, got string/ },
  { name: 'a foreign JSON', text: JSON.stringify({ name: 'something', version: 3 }), field: /schema: expected "pollfleet\.result\/v1"/ },
];

for (const c of cases) {
  t.test(`pollfleet report on ${c.name}: exit 2, the field named, no stack`, async (t) => {
    const dir = t.testdir({ 'result.json': c.text });
    const file = join(dir, 'result.json');
    const p = spawnCli(['report', file, '--out', join(dir, 'out'), '--quiet']);
    const { code } = await p.exited(30_000);
    const err = p.stderr();
    t.equal(code, 2, `exit code (stderr: ${err})`);
    t.match(err, `${file}: `, 'names the file');
    t.match(err, c.field, 'names the field');
    t.equal(err.trim().split('\n').length, 1, 'one line');
    t.notMatch(err, '    at ', 'no stack trace');
    t.notMatch(err, /Cannot read properties/);
    t.equal(p.stdout(), '', 'nothing on stdout');
  });
}

t.test('pollfleet report on an old comparison still renders it', async (t) => {
  const dir = t.testdir({ 'comparison.json': readFileSync(join(FIXTURES, 'comparison-routes.json'), 'utf8') });
  const p = spawnCli(['report', join(dir, 'comparison.json'), '--out', join(dir, 'out'), '--format', 'json']);
  const { code } = await p.exited(30_000);
  t.equal(code, 0, `exit code (stderr: ${p.stderr()})`);
  t.match(p.stdout(), /wrote /);
});

t.test('pollfleet report on a handed-over result.json: a secret or terminal control text in it never reaches the console', async (t) => {
  const doc = JSON.parse(readFileSync(join(FIXTURES, 'result-fault.json'), 'utf8')) as Record<string, any>;
  // What an older or hand-edited file might hold: a password in a URL, an escape sequence a hostile peer put in an error.
  doc['diagnosis'] = ['redis at redis://:hunter2secret@10.0.0.5:6379 refused', 'proxy said \u001b]0;owned\u0007\u001b[2Jgone'];
  const dir = t.testdir({ 'result.json': JSON.stringify(doc) });
  const p = spawnCli(['report', join(dir, 'result.json'), '--out', join(dir, 'out'), '--format', 'markdown']);
  const { code } = await p.exited(30_000);
  t.equal(code, 0, `exit code (stderr: ${p.stderr()})`);
  const out = p.stdout();
  t.match(out, /redis:\/\/:\*\*\*@10\.0\.0\.5/, 'the diagnosis is shown, password hidden');
  t.notMatch(out, 'hunter2secret');
  t.notMatch(out, '\u001b]0;', 'no escape sequence from the file');
  t.match(out, '\\x1b]0;owned\\x07', 'shown as visible text instead');
  const md = readFileSync(join(dir, 'out', readdirSync(join(dir, 'out')).find((f) => f.endsWith('.md'))!), 'utf8');
  t.notMatch(md, 'hunter2secret');
  t.notMatch(md, '\u001b');
});
