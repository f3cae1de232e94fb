import t from 'tap';
import { expectPass, expectSingleAddressFailure, expectTlsOffloadFailure, runRoute } from '../../helpers/routes.js';

// The comparison's verdicts on pollfleet's own simulators.
t.test('nlb-unique-port: one listener port per node passes', async (t) => {
  const r = await runRoute(t, { kind: 'nlb-unique-port' });
  expectPass(t, r);
  t.match(r.balancer, /nlb simulator/);
  for (const n of r.nodes) t.equal(n.connectedTentacles, 6, `${n.name} reached by every tentacle`);
});

t.test('single-address with a queue per node fails, and the diagnosis says why', async (t) => {
  expectSingleAddressFailure(t, await runRoute(t, { kind: 'single-address' }));
});

t.test('single-address with a shared queue (multi-node polling) passes', async (t) => {
  const r = await runRoute(t, { kind: 'single-address' }, { queue: 'shared' });
  expectPass(t, r);
  const connected = r.nodes.reduce((a, n) => a + (n.connectedTentacles ?? 0), 0);
  t.equal(connected, 6, 'each tentacle still reaches only one node');
});

t.test('alb: TLS termination is diagnosed as such', async (t) => {
  const r = await runRoute(t, { kind: 'alb' });
  expectTlsOffloadFailure(t, r);
  t.match(r.balancer, /alb simulator/);
});
