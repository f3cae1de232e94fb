import t, { type Test } from 'tap';
import { readdirSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { spawnCli, type CliProcess } from '../../helpers/run.js';
import { startRedis } from '../../helpers/redis-server.js';
import { testNeeding } from '../../helpers/system-binary.js';
import { recordingGateway } from '../../helpers/scheduled-check.js';

// Secrets planted in every place a user can put one -- a Redis URL with a password, a
// proxy-like URL, an API key and private key material in free text, an API key in a query
// string, an API key and a passphrase in environment variables and a key file -- then
// `pollfleet run`, `check --history --pushgateway` and `report`; not one byte of any output
// (stdout, stderr, every file written, the history store) may hold one of them.
const RUN_MS = 60_000;
const REDIS_PW = 'redisPw7f3a9cSECRET';
const PROXY_PW = 'proxyPw51b2e8SECRET';
const API_KEY = 'API-PLANTEDKEY0123456789ABCDE';
const PASSPHRASE = 'passphrase9d8c7bSECRET';
const KEY_BODY = 'MIIEplantedPrivateKeyBodySECRET';
const GW_PW = 'gatewayPw3e4fSECRET';
const SECRETS = [REDIS_PW, PROXY_PW, API_KEY, PASSPHRASE, KEY_BODY, GW_PW];

/** Turn on a password on a running redis-server (the helper starts it without one). */
async function requirePassword(url: string, pw: string): Promise<void> {
  const port = Number(new URL(url).port);
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(2000, () => (s.destroy(), reject(new Error('redis did not answer CONFIG SET'))));
    s.on('error', reject);
    s.on('connect', () => s.write(`CONFIG SET requirepass ${pw}\r\n`));
    s.on('data', (d) => {
      s.destroy();
      if (d.toString().startsWith('+OK')) resolve();
      else reject(new Error(`CONFIG SET: ${d.toString()}`));
    });
  });
}

/** The CLI with the planted secrets in its environment (and no debug stack traces). */
function cli(args: string[], env: Record<string, string>): CliProcess {
  return spawnCli(args, { env: { POLLFLEET_DEBUG: '', ...env } });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function assertNoSecret(t: Test, where: string, bytes: Buffer | string): void {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const found = SECRETS.filter((s) => buf.includes(s));
  t.same(found, [], `no planted secret in ${where}`);
}

testNeeding(t, 'redis-server', 'apt-get install redis-server', 'no planted secret reaches any output of run, check and report', async (t, path) => {
  const plain = await startRedis(t, path);
  await requirePassword(plain, REDIS_PW);
  const redisUrl = plain.replace('redis://', `redis://:${REDIS_PW}@`);
  const gw = await recordingGateway(t);
  const gwUrl = gw.url.replace('http://', `http://pushuser:${GW_PW}@`);
  const dir = t.testdir({ in: {}, out: {} });
  const keyFile = join(dir, 'in', 'api-key');
  writeFileSync(keyFile, `${API_KEY}\n`);
  chmodSync(keyFile, 0o600);
  const scenario = {
    name: 'secrets',
    description: `through http://proxyuser:${PROXY_PW}@proxy.local:3128 with ${API_KEY} and -----BEGIN PRIVATE KEY-----\n${KEY_BODY}\n-----END PRIVATE KEY-----`,
    cluster: { nodes: 2, pollingPort: 0, queue: 'redis', redisUrl },
    fleet: { tentacles: 3, rampUp: '1s' },
    workload: { interval: '1s' },
    timeouts: { pollingQueueWait: '2s', pollingRequestQueueTimeout: '4s' },
    duration: '3s',
    apiLoad: { path: `/api/machines?apikey=${API_KEY}`, duration: '1s', connections: 1, maxRequests: 20 },
  };
  const file = join(dir, 'in', 'secrets.json');
  writeFileSync(file, JSON.stringify(scenario));
  const env = { OCTOPUS_API_KEY: API_KEY, PF_PASSPHRASE: PASSPHRASE };
  const out = join(dir, 'out');

  const run = cli(['run', file, '--out', join(out, 'run'), '--json', '--history', join(out, 'run.sqlite')], env);
  const r = await run.exited(RUN_MS);
  t.equal(r.code, 0, `run: exit 0 (stderr: ${run.stderr()})`);
  const logged = cli(['run', file, '--out', join(out, 'run-log'), '--format', 'md'], env);
  const l = await logged.exited(RUN_MS);
  t.equal(l.code, 0, `run with the log on stderr: exit 0 (stderr: ${logged.stderr()})`);
  const check = cli(['check', file, '--out', join(out, 'check'), '--history', join(out, 'h.sqlite'), '--pushgateway', gwUrl, '--progress', '--threshold', 'harness.loopDelayMs.p99 < 60000'], env);
  const c = await check.exited(RUN_MS);
  t.equal(c.code, 0, `check: exit 0 (stderr: ${check.stderr()})`);
  const report = cli(['report', join(out, 'run', 'result.json'), '--out', join(out, 'report')], env);
  t.equal((await report.exited(RUN_MS)).code, 0, 'report: exit 0');
  // An error that names the URL: the same scenario pointed at a Redis that is gone.
  writeFileSync(file, JSON.stringify({ ...scenario, cluster: { ...scenario.cluster, redisUrl: `redis://:${REDIS_PW}@127.0.0.1:1` } }));
  const gone = cli(['run', file, '--out', join(out, 'gone'), '--quiet'], env);
  const g = await gone.exited(RUN_MS);
  t.equal(g.code, 2, 'a run against a closed Redis is exit 2');
  t.match(gone.stderr(), /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 is not reachable/, 'the error names the URL, not its password');
  t.match(check.stderr(), /apikey=\*\*\*/, 'the run log names the API path, not the key in it');
  t.equal(gw.seen.length, 1, 'check pushed its metrics');

  for (const [name, p] of Object.entries({ run, logged, check, report, gone })) {
    assertNoSecret(t, `${name} stdout`, p.stdout());
    assertNoSecret(t, `${name} stderr`, p.stderr());
  }
  t.match(logged.stderr(), /\S/, 'the run log was on stderr (and checked)');
  const written = filesUnder(out);
  t.ok(written.some((f) => f.endsWith('result.json')) && written.some((f) => f.endsWith('h.sqlite')), 'the run folders and the history stores were written');
  for (const f of written) assertNoSecret(t, f.slice(out.length + 1), readFileSync(f));
  for (const seen of gw.seen) assertNoSecret(t, `the Pushgateway request ${seen.url}`, `${seen.url}\n${seen.body}`);
  const result = JSON.parse(readFileSync(join(out, 'run', 'result.json'), 'utf8')) as { scenario: { cluster: { redisUrl: string } } };
  t.match(result.scenario.cluster.redisUrl, /^redis:\/\/:\*\*\*@127\.0\.0\.1:\d+$/, 'the URL stays readable, its password is gone');
});
