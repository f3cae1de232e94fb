import t from 'tap';
import { PollfleetError } from '../../../src/core/errors.js';
import { scenarioFromObject } from '../../../src/scenario/loader.js';
import { registrationUrls } from '../../../src/environment/routes/route.js';
import type { RunningNode } from '../../../src/cluster/embedded-cluster.js';

const nodes = [{ apiUrl: 'http://127.0.0.11:5001' }, { apiUrl: 'http://127.0.0.12:5002' }] as RunningNode[];

t.test('route.registration picks where tentacles register', async (t) => {
  const alb = scenarioFromObject({ name: 'r', route: { kind: 'alb' } }, 'test');
  t.equal(alb.route.registration, 'alb', 'through the ALB by default with route kind alb');
  t.same(registrationUrls(alb, nodes, 'https://127.0.0.10:10943'), ['https://127.0.0.10:10943']);
  const albDirect = scenarioFromObject({ name: 'r', route: { kind: 'alb', registration: 'direct' } }, 'test');
  t.same(registrationUrls(albDirect, nodes, 'https://127.0.0.10:10943'), ['http://127.0.0.11:5001', 'http://127.0.0.12:5002'], 'straight to the nodes when asked');
  const direct = scenarioFromObject({ name: 'r', route: { kind: 'single-address' } }, 'test');
  t.same(registrationUrls(direct, nodes, null), ['http://127.0.0.11:5001', 'http://127.0.0.12:5002']);
});

t.test('registration through an ALB that the route does not start is rejected, naming the field', async (t) => {
  let err: unknown;
  try {
    scenarioFromObject({ name: 'r', route: { kind: 'single-address', registration: 'alb' } }, 'test');
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof PollfleetError, 'a scenario error (exit 2)');
  t.match((err as Error).message, /route\.registration: registration through the ALB needs route kind alb/);
});
