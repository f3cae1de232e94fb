import t from 'tap';
import { join } from 'node:path';
import { spawnCli } from '../helpers/run.js';

// Bad input through the real CLI process: exit 2, one clear message naming file and field, no stack.
const base = 'route:\n  kind: direct\ncluster:\n  nodes: 3\n  pollingPort: 0\nfleet:\n  tentacles: 5\nduration: 5s\n';

const cases: { name: string; text: string | null; field: RegExp }[] = [
  { name: 'unknown field', text: base + 'flet: 3\n', field: /flet: unknown field/ },
  { name: 'wrong type', text: base.replace('tentacles: 5', 'tentacles: many'), field: /fleet\.tentacles/ },
  { name: 'port out of range', text: base.replace('pollingPort: 0', 'pollingPort: 70000'), field: /cluster\.pollingPort/ },
  { name: 'bad duration', text: base.replace('duration: 5s', 'duration: soon'), field: /duration/ },
  { name: 'bad YAML', text: 'route:\n  kind: direct\n   nodes: [3\n', field: /YAML/ },
  { name: 'unknown threshold metric', text: base + "thresholds:\n  - 'pickupMz.p99 < 5000'\n", field: /thresholds\[0\].*pickupMz/ },
  { name: 'missing file', text: null, field: /not found/ },
];

for (const c of cases) {
  t.test(`pollfleet run with ${c.name}: exit 2, clear message`, async (t) => {
    const dir = t.testdir(c.text === null ? {} : { 'bad.yaml': c.text });
    const file = join(dir, 'bad.yaml');
    const p = spawnCli(['run', file, '--out', join(dir, 'out'), '--quiet']);
    const { code } = await p.exited(20_000);
    const err = p.stderr();
    t.equal(code, 2, `exit code (stderr: ${err})`);
    t.match(err, file, 'names the file');
    t.match(err, c.field, 'names the field');
    t.notMatch(err, '    at ', 'no stack trace');
    t.notMatch(err, /Error:/, 'no raw error class name');
    t.equal(p.stdout(), '', 'nothing on stdout');
  });
}

t.test('bad --threshold flag: exit 2 before anything starts', async (t) => {
  const dir = t.testdir({ 'ok.yaml': base });
  const p = spawnCli(['run', join(dir, 'ok.yaml'), '--out', join(dir, 'out'), '--quiet', '--threshold', 'nosuch.metric < 1']);
  const { code } = await p.exited(20_000);
  t.equal(code, 2);
  t.match(p.stderr(), /--threshold/);
  t.match(p.stderr(), /nosuch/);
  t.notMatch(p.stderr(), '    at ');
});
