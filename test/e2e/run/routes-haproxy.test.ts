import t from 'tap';
import { expectPass, expectSingleAddressFailure, expectTlsOffloadFailure, runRoute } from '../../helpers/routes.js';
import { testNeeding } from '../../helpers/system-binary.js';

// The same verdicts through a real haproxy as through the simulators.
const hint = 'apt-get install haproxy';

testNeeding(t, 'haproxy', hint, 'nlb-unique-port through haproxy (TCP pass-through, a port per node) passes', async (t) => {
  const r = await runRoute(t, { kind: 'nlb-unique-port', balancer: 'haproxy' });
  expectPass(t, r);
  t.match(r.balancer, /haproxy/);
});

testNeeding(t, 'haproxy', hint, 'single-address through haproxy with a queue per node fails', async (t) => {
  expectSingleAddressFailure(t, await runRoute(t, { kind: 'single-address', balancer: 'haproxy' }));
});

testNeeding(t, 'haproxy', hint, 'haproxy terminating TLS (the ALB stand-in) is diagnosed as TLS offload', async (t) => {
  expectTlsOffloadFailure(t, await runRoute(t, { kind: 'alb', balancer: 'haproxy' }));
});
