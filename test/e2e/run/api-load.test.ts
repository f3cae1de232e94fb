import t from 'tap';
import { runSmall, smallScenario } from '../../helpers/run.js';

t.test('REST API load through the ALB: served, spread across every node, while polling through it fails', async (t) => {
  const r = await runSmall(
    smallScenario({
      name: 'alb-api-load',
      route: { kind: 'alb' },
      fleet: { tentacles: 3, rampUp: '300ms' },
      duration: '2s',
      apiLoad: { connections: 4, duration: '2s', maxRequests: 3000 },
    }),
    t.testdir({}),
  );
  const a = r.apiLoad;
  t.ok(a, 'the Result holds the API load');
  t.ok(a!.requests > 0 && a!.requests <= 3000, `bounded request count (${a!.requests})`);
  const total = Object.values(a!.statusCounts).reduce((x, y) => x + y, 0);
  t.equal(a!.statusCounts['200'], total, 'every request answered 200 through the ALB');
  t.match(a!.url, /^https:\/\/127\.0\.0\.10:\d+$/, 'driven through the balancer');
  t.same(Object.keys(a!.perNode ?? {}).sort(), ['node1', 'node2', 'node3'], 'round robin reaches every node');
  for (const [node, n] of Object.entries(a!.perNode ?? {})) t.ok(n / a!.requests > 0.2, `${node} served a fair share (${n})`);
  t.equal(r.verdict.pass, false, 'polling through the same ALB still fails');
  t.notMatch(JSON.stringify(r), /API-[A-Z0-9]{20,}/, 'the API key used for the load is not in the Result');
});
