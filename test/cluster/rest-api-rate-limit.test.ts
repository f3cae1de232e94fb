/**
 * cluster.apiRateLimit: from the scenario to a node's REST API, which then answers 429 with
 * Retry-After beyond the rate (the ping path exempt, as a balancer's health check must work).
 */
import t from 'tap';
import { request } from 'undici';
import { PING_PATH } from '../../src/scenario/defaults.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { API_KEY, startClusterNode } from '../helpers/cluster.js';

t.test('the scenario field resolves (burst defaults to the rate rounded up) and is refused when nonsensical', async (t) => {
  const s = scenarioFromObject({ name: 'x', cluster: { apiRateLimit: { requestsPerSecond: 2.5 } } });
  t.same(s.cluster.apiRateLimit, { requestsPerSecond: 2.5, burst: 3 });
  t.equal(scenarioFromObject({ name: 'x' }).cluster.apiRateLimit, null, 'off by default');
  t.throws(() => scenarioFromObject({ name: 'x', cluster: { apiRateLimit: { requestsPerSecond: 0 } } }), /apiRateLimit\.requestsPerSecond/);
});

t.test('a node with a rate limit answers 429 with Retry-After over real HTTP; ping is exempt', async (t) => {
  const n = await startClusterNode({ apiRateLimit: { requestsPerSecond: 1, burst: 2 } });
  t.teardown(() => n.close());
  const get = async (path: string) => {
    const res = await request(`http://127.0.0.1:${n.apiPort}${path}`, { headers: { 'X-Octopus-ApiKey': API_KEY }, headersTimeout: 5_000 });
    const body = await res.body.text();
    return { status: res.statusCode, retryAfter: res.headers['retry-after'], body };
  };
  const answers = [await get('/api'), await get('/api'), await get('/api')];
  t.same(answers.map((a) => a.status), [200, 200, 429], 'the burst, then 429');
  t.equal(answers[2]!.retryAfter, '1', 'Retry-After in whole seconds');
  t.match(JSON.parse(answers[2]!.body), { ErrorMessage: /Too many requests/ });
  t.equal((await get(PING_PATH)).status, 200, 'the ping path is not limited');
});
