import t from 'tap';
import { PollfleetError } from '../../src/core/errors.js';
import { directRoute } from '../../src/environment/routes/direct.js';
import type { RouteContext } from '../../src/environment/routes/route.js';
import { loadScenarioFile, scenarioFromObject } from '../../src/scenario/loader.js';

function problem(raw: Record<string, unknown>): string {
  try {
    scenarioFromObject(raw);
  } catch (e) {
    if (e instanceof PollfleetError) return e.message;
    throw e;
  }
  throw new Error('expected the scenario to be refused');
}

t.test('route.transport: websocket turns the HTTPS API on and is checked against the route', async (t) => {
  const s = scenarioFromObject({ route: { kind: 'direct', transport: 'websocket' }, cluster: { nodes: 2, pollingPort: 0 } });
  t.equal(s.route.transport, 'websocket');
  t.equal(s.cluster.apiHttps, true, 'the HTTPS API follows (it serves /OctopusComms)');
  t.equal(scenarioFromObject({ route: { kind: 'direct' } }).route.transport, 'tcp', 'tcp by default');
  t.equal(scenarioFromObject({ route: { kind: 'alb', transport: 'websocket' } }).route.transport, 'websocket');

  t.match(problem({ route: { kind: 'single-address', transport: 'websocket' } }), /route\.transport.*direct or alb, not single-address/s);
  t.match(problem({ route: { kind: 'direct', transport: 'websocket' }, cluster: { apiHttps: false } }), /cluster\.apiHttps.*HTTPS API/s);
  t.match(problem({ route: { kind: 'direct', transport: 'udp' } }), /route\.transport.*tcp, websocket/s);
});

t.test('the direct route gives wss:// entries on each node API', async (t) => {
  const scenario = scenarioFromObject({ route: { kind: 'direct', transport: 'websocket' }, cluster: { nodes: 2 } });
  const ctx = {
    scenario,
    nodes: [
      { name: 'node1', pollingHost: '127.0.0.11', pollingPort: 10943, apiUrl: 'https://127.0.0.11:40001', pid: null },
      { name: 'node2', pollingHost: '127.0.0.12', pollingPort: 10943, apiUrl: 'https://127.0.0.12:40002', pid: null },
    ],
    serverThumbprint: 'A'.repeat(40),
    workDir: '/nonexistent',
    balancerCertificate: () => Promise.reject(new Error('not used')),
  } as unknown as RouteContext;
  const env = await directRoute.build(ctx);
  t.match(env.entries, [
    { address: 'wss://127.0.0.11:40001/OctopusComms', host: '127.0.0.11', port: 40001, transport: 'websocket', path: '/OctopusComms', name: 'node1' },
    { address: 'wss://127.0.0.12:40002/OctopusComms', port: 40002, transport: 'websocket' },
  ]);
  t.same(env.entryNodes, [0, 1]);
});

t.test('compare-aws has the WebSocket variants with their expected verdicts', async (t) => {
  const loaded = loadScenarioFile('scenarios/compare-aws.yaml');
  t.equal(loaded.kind, 'comparison');
  if (loaded.kind !== 'comparison') return;
  const byName = new Map(loaded.variants.map((v) => [v.name, v]));
  t.match(byName.get('alb-websocket'), { route: { kind: 'alb', transport: 'websocket' }, expect: 'fail', cluster: { apiHttps: true } });
  t.match(byName.get('direct-websocket'), { route: { kind: 'direct', transport: 'websocket' }, expect: 'pass', cluster: { apiHttps: true } });
  t.match(byName.get('alb'), { route: { transport: 'tcp' } }, 'the other variants keep TCP');
});
