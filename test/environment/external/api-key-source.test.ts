import t from 'tap';
import { chmodSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { requireApiKey, resolveApiKey, scrubKey } from '../../../src/environment/external/api-key-source.js';
import { Ledger } from '../../../src/environment/external/ledger.js';

const KEY = 'API-ABCDEFGHIJKLMNOPQRSTUVWXYZ';

t.test('API key sources: environment variable, file (mode checked), flag (warned)', async (t) => {
  const dir = t.testdir();
  const env = { PF_KEY: ` ${KEY}\n`, EMPTY: '' };
  const fromEnv = resolveApiKey({ apiKeyEnv: 'PF_KEY', apiKeyFile: null }, undefined, env)!;
  t.equal(fromEnv.key, KEY);
  t.same(fromEnv.warnings, []);
  t.equal(resolveApiKey({ apiKeyEnv: null, apiKeyFile: null }, undefined, env), null);

  t.throws(() => resolveApiKey({ apiKeyEnv: 'EMPTY', apiKeyFile: null }, undefined, env), /environment variable EMPTY is not set or empty/);

  const file = join(dir, 'key.txt');
  writeFileSync(file, `# the key\n${KEY}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  const fromFile = resolveApiKey({ apiKeyEnv: null, apiKeyFile: file }, undefined, env)!;
  t.equal(fromFile.key, KEY);
  t.same(fromFile.warnings, [], '0600: no warning');
  chmodSync(file, 0o644);
  const wide = resolveApiKey({ apiKeyEnv: null, apiKeyFile: file }, undefined, env)!;
  t.match(wide.warnings.join('\n'), /readable by everyone \(mode 644\); run chmod 600/);
  t.throws(() => resolveApiKey({ apiKeyEnv: null, apiKeyFile: join(dir, 'nope') }, undefined, env), /cannot read .*nope \(ENOENT\)/);

  const fromFlag = resolveApiKey({ apiKeyEnv: 'PF_KEY', apiKeyFile: null }, KEY, env)!;
  t.match(fromFlag.warnings.join('\n'), /shell history/);
  for (const r of [fromEnv, fromFile, wide, fromFlag]) t.notOk(r.warnings.join('\n').includes(KEY), 'a warning never holds the key');

  t.throws(() => requireApiKey({ apiKeyEnv: null, apiKeyFile: null }, 'pollfleet cleanup', undefined, env), /pollfleet cleanup needs an API key/);
  t.equal(scrubKey(`header ${KEY} echoed`, KEY), 'header API-*** echoed');
});

t.test('a key an HTTP header cannot carry (line break, space, control character) is bad input up front, naming its source, not the key', async (t) => {
  for (const bad of [`${KEY}\r\nX-Evil: 1`, `API-ABC DEF1234567`, `${KEY}\u0000`, `${KEY}é`]) {
    const err = (() => {
      try {
        resolveApiKey({ apiKeyEnv: 'PF_KEY', apiKeyFile: null }, undefined, { PF_KEY: bad });
        return null;
      } catch (e) {
        return e as { kind: string; message: string };
      }
    })();
    t.equal(err?.kind, 'input.invalid', JSON.stringify(bad));
    t.match(err?.message, /from environment variable PF_KEY contains a space, line break or other character/);
    t.notMatch(err?.message, 'ABC', 'the key itself is not in the message');
  }
});

t.test('ledger: pending before the request, id after, removed after delete; 0600, never the key', async (t) => {
  const file = join(t.testdir(), 'sub', 'ledger.json');
  const l = new Ledger(file);
  t.same(l.entries(), [], 'absent = empty');
  l.addPending({ name: 'm1', space: 'Default', apiUrl: 'http://x', thumbprint: 'T1', runId: 'r' });
  l.addPending({ name: 'm2', space: 'Default', apiUrl: 'http://x', thumbprint: 'T2', runId: 'r' });
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.same(l.entries().map((e) => [e.name, e.machineId, e.pid]), [['m1', null, process.pid], ['m2', null, process.pid]]);
  l.setCreated('m1', 'http://x', 'Machines-1', 'Spaces-1');
  t.same(l.entries().map((e) => e.machineId), ['Machines-1', null]);
  l.remove('m1', 'http://x');
  t.same(l.entries().map((e) => e.name), ['m2']);
  t.notMatch(readFileSync(file, 'utf8'), /API-/);
  l.remove('m2', 'http://x');
  t.same(l.entries(), []);
  writeFileSync(file, '{oops');
  t.throws(() => l.entries(), /ledger .*: not valid JSON/);
});
