import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../helpers/run.js';

// The process policy, installed in a child process that then lets a promise rejection or an
// exception go unhandled: exit code 3, the internal-error message, no secret, no silent death.
const LIMIT_MS = 20_000;
const src = (p: string) => JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'src', p)).href);

function runScript(dir: string, name: string, body: string, ipc = false): Promise<{ code: number | null; stdout: string; stderr: string; messages: unknown[] }> {
  const file = join(dir, name);
  return import('node:fs').then(({ writeFileSync }) => {
    writeFileSync(file, body);
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: PROJECT_ROOT, stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'], env: { ...process.env, POLLFLEET_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    const messages: unknown[] = [];
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('message', (m) => messages.push(m));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name} did not exit within ${LIMIT_MS} ms; stderr: ${stderr}`));
      }, LIMIT_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, messages });
      });
    });
  });
}

t.test('CLI: an unhandled rejection with no run in progress is exit 3 with the internal-error message', async (t) => {
  const dir = t.testdir({});
  const r = await runScript(dir, 'reject.ts', `
import { installCliProcessPolicy } from ${src('cli/process-policy.ts')};
installCliProcessPolicy(process.stderr);
void Promise.reject(new Error('redis went away: redis://:hunter2pw@10.0.0.9:6379'));
setTimeout(() => console.log('still running'), 5000);
`);
  t.equal(r.code, 3, `exit 3 (stderr: ${r.stderr})`);
  t.match(r.stderr, /^pollfleet: internal error \(a bug in pollfleet, not a problem with the cluster or the input\): unhandled promise rejection: redis went away/);
  t.match(r.stderr, /please report it/);
  t.notMatch(r.stderr, 'hunter2pw', 'the password in the message is redacted');
  t.notMatch(r.stderr, '    at ', 'no stack trace');
  t.equal(r.stdout, '', 'the process did not carry on');
});

t.test('CLI: an uncaught exception stops a run in progress, which then shuts down cleanly; exit 3', async (t) => {
  const dir = t.testdir({});
  const r = await runScript(dir, 'throw.ts', `
import { installCliProcessPolicy, internalErrors, onInternalError } from ${src('cli/process-policy.ts')};
installCliProcessPolicy(process.stderr);
// Stands in for a run: it stops when told and writes its partial result.
const keepAlive = setInterval(() => undefined, 1000);
const off = onInternalError((m) => {
  off();
  setTimeout(() => {
    clearInterval(keepAlive);
    console.log(JSON.stringify({ partial: true, internalErrors: internalErrors() }));
  }, 100);
});
setTimeout(() => { throw new TypeError('cannot read x of undefined'); }, 10);
`);
  t.equal(r.code, 3, `exit 3 (stderr: ${r.stderr})`);
  t.match(r.stderr, /internal error \(a bug in pollfleet.*\): uncaught exception: TypeError: cannot read x of undefined/);
  t.match(r.stderr, /stopping the run and writing a partial report/);
  t.same(JSON.parse(r.stdout), { partial: true, internalErrors: ['uncaught exception: TypeError: cannot read x of undefined'] }, 'the run shut down cleanly and saw the error');
});

t.test('node side: the core policy hands the error over (as a node process sends it to the supervisor) and sets exit 3', async (t) => {
  const dir = t.testdir({});
  const r = await runScript(dir, 'node.ts', `
import { installProcessPolicy } from ${src('core/process-policy.ts')};
installProcessPolicy((message) => {
  process.send!({ t: 'internal-error', message }, () => process.disconnect());
});
void Promise.reject('a plain string');
`, true);
  t.equal(r.code, 3, 'exit code 3 without an explicit exit');
  t.same(r.messages, [{ t: 'internal-error', message: 'unhandled promise rejection: a plain string' }]);
});
