import t from 'tap';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PollfleetError } from '../../src/core/errors.js';
import { findBinary, locateBinary } from '../../src/network/real/find-binary.js';

t.test('finds an executable in the search path, skipping non-executable files', async (t) => {
  const notExec = await mkdtemp(join(tmpdir(), 'pollfleet-bin-'));
  const exec = await mkdtemp(join(tmpdir(), 'pollfleet-bin-'));
  t.teardown(() => Promise.all([rm(notExec, { recursive: true }), rm(exec, { recursive: true })]));
  await writeFile(join(notExec, 'haproxy'), '#!/bin/sh\n');
  await chmod(join(notExec, 'haproxy'), 0o644);
  await writeFile(join(exec, 'haproxy'), '#!/bin/sh\n');
  await chmod(join(exec, 'haproxy'), 0o755);
  const searchPath = [notExec, exec].join(':');
  t.equal(locateBinary('haproxy', { searchPath, extraDirs: [] }), join(exec, 'haproxy'));
  t.equal(findBinary('haproxy', { searchPath, extraDirs: [] }), join(exec, 'haproxy'));
  t.equal(locateBinary('nginx', { searchPath, extraDirs: [] }), null, 'another program is not found');
  t.equal(locateBinary('haproxy', { searchPath: '', extraDirs: [exec] }), join(exec, 'haproxy'), 'the extra (sbin) folders are searched too');
});

t.test('a missing program is environment.failed with the install command', async (t) => {
  for (const [name, install] of [['haproxy', 'apt-get install haproxy'], ['nginx', 'apt-get install nginx libnginx-mod-stream']] as const) {
    let err: unknown;
    try {
      findBinary(name, { searchPath: '', extraDirs: ['/nonexistent-pollfleet'] });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof PollfleetError, `${name}: a PollfleetError`);
    const pe = err as PollfleetError;
    t.equal(pe.kind, 'environment.failed');
    t.match(pe.message, new RegExp(`^${name} is not installed`));
    t.equal(pe.hint, `install it: ${install}`);
  }
});
