import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputTooLargeError, readInputFile } from '../../src/core/read-input.js';

t.test('a file within the limit is read whole, byte for byte', async (t) => {
  const dir = t.testdir();
  const body = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => i % 251));
  writeFileSync(join(dir, 'f'), body);
  t.ok(readInputFile(join(dir, 'f'), body.length).equals(body), 'exactly at the limit: read (more than one chunk)');
  t.equal(readInputFile(join(dir, 'f'), body.length + 1).length, body.length);
  writeFileSync(join(dir, 'empty'), '');
  t.equal(readInputFile(join(dir, 'empty'), 10).length, 0, 'an empty file is empty, not an error');
});

t.test('a file past the limit is refused naming the file and the limit', async (t) => {
  const dir = t.testdir({ big: 'x'.repeat(2049) });
  const e = t.throws(() => readInputFile(join(dir, 'big'), 2048)) as unknown;
  t.type(e, InputTooLargeError);
  t.match((e as Error).message, `${join(dir, 'big')}: more than 2 KiB`);
});

t.test('a device that never ends stops one chunk past the limit instead of filling memory', { skip: existsSync('/dev/zero') ? false : 'no /dev/zero here' }, async (t) => {
  t.throws(() => readInputFile('/dev/zero', 4 * 1024 * 1024), InputTooLargeError);
});

t.test('system errors reach the caller as they are (its message names them)', async (t) => {
  const dir = t.testdir();
  t.throws(() => readInputFile(join(dir, 'absent'), 10), { code: 'ENOENT' });
  t.throws(() => readInputFile(dir, 10), { code: 'EISDIR' });
});
