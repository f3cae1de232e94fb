import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CLI_MAIN, PROJECT_ROOT } from '../helpers/run.js';
import { checkOpenFiles, readOpenFileLimits } from '../../src/run/open-files.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

t.test('the open-file limits are read from /proc/self/limits', async (t) => {
  t.same(readOpenFileLimits(LIMITS), { soft: 20000, hard: 20000 });
  t.same(readOpenFileLimits('Max open files            1024                 unlimited            files'), { soft: 1024, hard: Infinity });
  t.equal(readOpenFileLimits('nothing here'), null);
});

t.test('a fleet that cannot open its sockets is refused before the run, with what to do', async (t) => {
  t.doesNotThrow(() => checkOpenFiles(18_000, { soft: 20_000, hard: 20_000 }), '6,000 tentacles x 3 nodes fit');
  t.doesNotThrow(() => checkOpenFiles(30_000, null), 'unknown limits are not checked');
  t.throws(() => checkOpenFiles(30_000, { soft: 20_000, hard: 20_000 }), {
    name: 'PollfleetError',
    kind: 'environment.failed',
    message: /needs 30000 sockets in this process, but it may open only 20000 files \(ulimit -n; hard limit 20000\)/,
    hint: /shards \(run --shard i\/n\)/,
  }, 'past the hard limit: shards');
  t.throws(() => checkOpenFiles(30_000, { soft: 1024, hard: Infinity }), { name: 'PollfleetError', hint: /ulimit -n 31000/ }, 'under the hard limit: raise the soft one');
});

t.test('pollfleet run under a low open-file limit exits 2 naming the limit, before anything starts', { skip: existsSync('/usr/bin/prlimit') ? false : 'prlimit (util-linux) is not installed' }, async (t) => {
  // 1,000 tentacles x 3 nodes = 3,000 sockets; the limit leaves room for 2,000.
  const child = spawn('/usr/bin/prlimit', ['--nofile=3000:3000', process.execPath, '--import', 'tsx', CLI_MAIN, 'run', join(PROJECT_ROOT, 'scenarios', 'direct.yaml'), '--tentacles', '1000', '--quiet'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  t.equal(code, 2, err);
  t.match(err, /needs 3000 sockets in this process, but it may open only 3000 files \(ulimit -n; hard limit 3000\)/);
  t.notMatch(err, /\n\s+at /, 'no stack trace');
});
