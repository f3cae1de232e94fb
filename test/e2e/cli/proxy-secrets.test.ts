import t from 'tap';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnCli } from '../../helpers/run.js';

// Route kind proxy with Basic credentials: the password (read from passwordEnv) and its
// Proxy-Authorization form never reach stdout, stderr or any file of the run folder -- not
// even where a user pasted it into the scenario's own text (it is a redaction literal).
const RUN_MS = 90_000;
const USER = 'tentacle-proxy-user';
const PASSWORD = 'proxyPwC0nnectSECRET';
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

t.test('the proxy password reaches no output of a run', async (t) => {
  const dir = t.testdir({ out: {} });
  const file = join(dir, 'proxy.json');
  writeFileSync(file, JSON.stringify({
    name: 'proxy-secrets',
    description: `proxy user ${USER} with password ${PASSWORD}`,
    route: { kind: 'proxy', proxy: { program: 'simulator', requireAuth: true, username: USER, passwordEnv: 'PF_TEST_PROXY_PASSWORD' } },
    cluster: { nodes: 2, pollingPort: 0 },
    fleet: { tentacles: 2, rampUp: '500ms' },
    workload: { interval: '1s' },
    timeouts: { pollingQueueWait: '2s', pollingRequestQueueTimeout: '4s' },
    duration: '3s',
  }));
  const out = join(dir, 'out');
  const run = spawnCli(['run', file, '--out', out, '--format', 'md'], { env: { PF_TEST_PROXY_PASSWORD: PASSWORD, POLLFLEET_DEBUG: '' } });
  const r = await run.exited(RUN_MS);
  t.equal(r.code, 0, `run through the authenticating proxy passes (stderr: ${run.stderr().slice(-2000)})`);
  for (const secret of [PASSWORD, BASIC]) {
    t.notOk(run.stdout().includes(secret), 'not in stdout');
    t.notOk(run.stderr().includes(secret), 'not in stderr');
    for (const f of filesUnder(out)) t.notOk(readFileSync(f).includes(secret), `not in ${f.slice(out.length + 1)}`);
  }
  const result = readFileSync(join(out, 'result.json'), 'utf8');
  t.match(result, /CONNECT proxy simulator on 127\.0\.0\.1:\d+ \(requires authentication\)/, 'the Result names the proxy');
  t.match(result, /PF_TEST_PROXY_PASSWORD/, 'the Result names where the password lives');
  t.match(result, /with password \*\*\*/, 'the pasted password is redacted as a literal');
});
