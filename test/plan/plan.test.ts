import t from 'tap';
import { planScenario } from '../../src/plan/plan.js';
import { PLAN_SOURCES } from '../../src/environment/plan-sources.js';
import { renderPlan } from '../../src/report/render-plan.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';

const TP = 'AB'.repeat(20);

function plan(raw: Record<string, unknown>) {
  return planScenario(scenarioFromObject({ name: 'p', ...raw }, 'test'), PLAN_SOURCES);
}

t.test('direct: one entry per node at its own loopback address, node-side pairs, a queue per node', async (t) => {
  const p = plan({ route: { kind: 'direct' }, cluster: { nodes: 3 }, fleet: { tentacles: 4, pollingConnectionCount: 2 } });
  t.equal(p.target, 'embedded');
  t.same(p.nodes.map((n) => n.address), ['127.0.0.11:10943', '127.0.0.12:10943', '127.0.0.13:10943']);
  t.same(p.entries, [
    { address: 'https://127.0.0.11:10943', reaches: ['node1'] },
    { address: 'https://127.0.0.12:10943', reaches: ['node2'] },
    { address: 'https://127.0.0.13:10943', reaches: ['node3'] },
  ]);
  t.equal(p.fleet.connectionsPerEntry, 2);
  t.same(p.identities, { count: 4, source: 'generated', subscriptions: 4, file: null });
  t.same(p.registration, { kind: 'embedded', through: 'nodes', count: 4 });
  t.equal(p.pairSource, 'node');
  t.same(p.queueGroups, [[0], [1], [2]]);
  t.equal(p.route.balancer, null, 'nothing stands in the path');
});

t.test('fleet.workers: the plan says how many worker threads the tentacles run in', async (t) => {
  const one = plan({ route: { kind: 'direct' }, cluster: { nodes: 2 }, fleet: { tentacles: 4 } });
  t.equal(one.fleet.workers, 1, 'default: the main thread');
  t.notMatch(renderPlan(one), /worker thread/);
  const two = plan({ route: { kind: 'direct' }, cluster: { nodes: 2 }, fleet: { tentacles: 4, workers: 2 } });
  t.equal(two.fleet.workers, 2);
  t.match(renderPlan(two), /ramp-up [^\n]*, in 2 worker threads/);
});

t.test('unique-port: one address, a port per node; port 0 stays a free port', async (t) => {
  t.same(plan({ route: { kind: 'unique-port' }, cluster: { nodes: 2 } }).entries.map((e) => e.address), ['https://127.0.0.1:10943', 'https://127.0.0.1:10944']);
  t.same(plan({ route: { kind: 'unique-port' }, cluster: { nodes: 2, pollingPort: 0 } }).entries.map((e) => e.address), ['https://127.0.0.1:<free port>', 'https://127.0.0.1:<free port>']);
});

t.test('balanced routes: the balancer address, what each entry reaches, registration as route.registration says', async (t) => {
  const single = plan({ route: { kind: 'single-address' }, cluster: { nodes: 3, queue: 'shared' } });
  t.same(single.entries, [{ address: 'https://127.0.0.10:10943', reaches: ['node1', 'node2', 'node3'] }]);
  t.equal(single.route.balancer, 'simulator');
  t.same(single.queueGroups, [[0, 1, 2], [0, 1, 2], [0, 1, 2]], 'a shared queue: every node hands out every node\'s work');

  const nat = plan({ route: { kind: 'nlb-unique-port', balancer: 'haproxy' }, cluster: { nodes: 2 } });
  t.same(nat.entries, [
    { address: 'https://127.0.0.10:10943', reaches: ['node1'] },
    { address: 'https://127.0.0.10:10944', reaches: ['node2'] },
  ]);
  t.equal(nat.route.balancer, 'haproxy');

  const alb = plan({ route: { kind: 'alb' }, cluster: { nodes: 2 } });
  t.same(alb.entries, [{ address: 'https://127.0.0.10:10943', reaches: ['node1', 'node2'] }]);
  t.same(alb.registration, { kind: 'embedded', through: 'balancer', count: 50 });
  t.same(plan({ route: { kind: 'alb', registration: 'direct' } }).registration, { kind: 'embedded', through: 'nodes', count: 50 });
  const viaProxy = plan({ route: { kind: 'proxy', proxy: { program: 'squid' } }, cluster: { nodes: 2, pollingPort: 10943 } });
  t.same(viaProxy.entries.map((e) => e.address), ['https://127.0.0.11:10943 via CONNECT proxy http://127.0.0.1:<free port> (squid)', 'https://127.0.0.12:10943 via CONNECT proxy http://127.0.0.1:<free port> (squid)']);
  t.same(viaProxy.registration, { kind: 'embedded', through: 'proxy', count: 50 });
  t.match(plan({ route: { kind: 'proxy', registrationProxy: 'direct' } }).registration, { through: 'nodes' });
  t.same(plan({ route: { kind: 'alb', transport: 'websocket' } }).entries.map((e) => e.address), ['wss://127.0.0.10:10943/OctopusComms']);
  t.same(plan({ route: { kind: 'direct', transport: 'websocket' }, cluster: { nodes: 1 } }).entries.map((e) => e.address), ['wss://127.0.0.11:<free port>/OctopusComms']);
});

t.test('overrides: those tentacles have only the entries of their nodes', async (t) => {
  const p = plan({ cluster: { nodes: 3 }, fleet: { tentacles: 10, overrides: [{ tentacles: '0-4', nodes: ['node1', 'node2'] }] } });
  t.same(p.overrides, [{ from: 0, to: 4, nodes: ['node1', 'node2'], entries: 2 }]);
});

t.test('the fault timeline, as written', async (t) => {
  const p = plan({ cluster: { nodes: 3 }, duration: '60s', faults: [{ at: '10s', action: 'crash', target: 'node2', for: '20s' }] });
  t.same(p.faults, [{ name: 'crash@node2', kind: 'crash', target: 'node2', atMs: 10_000, forMs: 20_000 }]);
  t.match(renderPlan(p), /at 10s\s+crash\s+node2\s+for 20s/);
});

t.test('external: the listed nodes, tentacle-side pairs, a given identity or synthetic registration, the safety limits', async (t) => {
  const given = plan({
    target: 'external',
    external: { nodes: [{ polling: 'octo1.example.com:10943' }, { polling: 'wss://octo2.example.com/OctopusComms', api: 'https://octo2.example.com' }], thumbprint: TP, identity: { pfx: 'tentacle.pfx' } },
    fleet: { tentacles: 2 },
  });
  t.equal(given.target, 'external');
  t.same(given.nodes.map((n) => [n.name, n.address, n.thumbprint]), [['node1', 'octo1.example.com:10943', TP], ['node2', 'wss://octo2.example.com/OctopusComms', TP]]);
  t.same(given.entries.map((e) => e.reaches), [['node1'], ['node2']]);
  t.same(given.identities, { count: 1, source: 'given', subscriptions: 2, file: 'tentacle.pfx' }, 'one certificate, a fresh subscription per tentacle');
  t.same(given.registration, { kind: 'none' });
  t.equal(given.pairSource, 'tentacle');
  t.equal(given.settleMs, 0);
  t.same(given.safety?.problems, []);
  const text = renderPlan(given);
  t.match(text, /target\s+external \(real cluster\)/);
  t.match(text, /polling\s+2 TLS connection\(s\) to each node \(2 tentacle\(s\) x 1 polling connection\(s\)\), 4 in all:/);
  t.match(text, /ping https:\/\/octo2\.example\.com\/api\/octopusservernodes\/ping/);
  t.match(text, /register\s+nothing \(the identity tentacle\.pfx must already be trusted/);
  t.match(text, /limits\s+within the defaults/);

  const synthetic = plan({
    target: 'external',
    external: { nodes: [{ polling: 'octo1.example.com:10943' }], thumbprint: TP, apiUrl: 'https://octo.example.com', apiKeyEnv: 'OCTO_KEY', register: { environment: 'Test' } },
    fleet: { tentacles: 3 },
  });
  t.equal(synthetic.identities.source, 'generated');
  t.equal(synthetic.registration.kind, 'synthetic');
  const s = renderPlan(synthetic, { entries: 2 });
  t.match(s, /register\s+3 synthetic polling machine\(s\) through https:\/\/octo\.example\.com/);
  t.match(s, /each: POST https:\/\/octo1\.example\.com:10943\/handshake, GET \/api,/);
  t.match(s, /API key\s+from environment variable OCTO_KEY/);
  t.match(s, /leftovers\s+the ledger lists 2 machine/);
  t.notMatch(s, /API-/, 'no key in a plan');

  const big = plan({ target: 'external', external: { nodes: [{ polling: 'a:1' }], thumbprint: TP, identity: { pfx: 'x.pfx' } }, fleet: { tentacles: 500 } });
  t.match(renderPlan(big), /limits\s+EXCEEDED/);
});

t.test('embedded plans print the route, entries and registration', async (t) => {
  const text = renderPlan(plan({ route: { kind: 'single-address' }, cluster: { nodes: 2 }, fleet: { tentacles: 5 } }));
  t.match(text, /target\s+embedded cluster on loopback: 2 node\(s\), route single-address, queue per-node/);
  t.match(text, /entries\s+1 server entry per tentacle:/);
  t.match(text, /https:\/\/127\.0\.0\.10:10943\s+-> any node \(node1, node2\)/);
  t.match(text, /register\s+5 tentacle\(s\) over the REST API, straight to the nodes/);
});
