import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { API_KEY, HOST, startClusterNode } from '../../helpers/cluster.js';
import { spawnCli } from '../../helpers/run.js';

// A run with external.register against a node whose REST API is rate-limited (429 with
// Retry-After): the registrations wait the throttling out, the run passes, and the Result and
// the report count it as throttling -- not as failures or a server that is down.
t.setTimeout(120_000);

const TENTACLES = 2;
const KEY_ENV = 'PF_THROTTLED_KEY';

t.test('registrations throttled by the REST API: waited out, counted in result.json and report.md', async (t) => {
  const dir = t.testdir();
  const n = await startClusterNode({ apiRateLimit: { requestsPerSecond: 4, burst: 2 } });
  t.teardown(() => n.close());
  const file = join(dir, 'throttled.yaml');
  writeFileSync(file, stringify({
    name: 'throttled',
    target: 'external',
    external: {
      nodes: [{ name: 'node1', polling: `${HOST}:${n.pollingPort}` }],
      thumbprint: n.server.thumbprint,
      apiUrl: `http://${HOST}:${n.apiPort}`,
      space: 'Spaces-1',
      apiKeyEnv: KEY_ENV,
      register: { environment: 'Test', ratePerSecond: 5, ledger: join(dir, 'ledger.json') },
    },
    fleet: { tentacles: TENTACLES, pollingConnectionCount: 1, rampUp: '0s', registrationConcurrency: TENTACLES },
    duration: '2s',
    timeouts: { pollingQueueWait: '1s', connectTimeout: '3s', receiveTimeout: '5s', heartbeatTimeout: '5s' },
    backoff: { min: '200ms', max: '1s' },
  }));
  const out = join(dir, 'out');
  const p = spawnCli(['run', file, '-o', out, '--format', 'md'], { env: { [KEY_ENV]: API_KEY } });
  const { code } = await p.exited(90_000);
  t.equal(code, 0, `ran and passed (stderr: ${p.stderr()})`);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { summary: { registrationMs: { count: number; throttled?: number; throttledWaitMs?: number; failures: Record<string, number> } } };
  const reg = result.summary.registrationMs;
  t.equal(reg.count, TENTACLES, 'every registration succeeded');
  t.same(reg.failures, {}, 'no registration failed');
  t.ok((reg.throttled ?? 0) >= 1, `throttled ${reg.throttled} times`);
  t.ok((reg.throttledWaitMs ?? 0) >= (reg.throttled ?? 0) * 1000, `waited ${reg.throttledWaitMs} ms`);
  t.match(readFileSync(join(out, 'report.md'), 'utf8'), /Registration throttled \d+ times?, \d+ s waited/);
  t.notMatch(p.stdout() + p.stderr(), /server (is )?down/i);
});
