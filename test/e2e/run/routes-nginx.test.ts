import t from 'tap';
import { expectPass, expectSingleAddressFailure, expectTlsOffloadFailure, runRoute } from '../../helpers/routes.js';
import { testNeeding } from '../../helpers/system-binary.js';

// The same verdicts through a real nginx as through the simulators.
const hint = 'apt-get install nginx libnginx-mod-stream';

testNeeding(t, 'nginx', hint, 'nlb-unique-port through nginx (TCP pass-through, a port per node) passes', async (t) => {
  const r = await runRoute(t, { kind: 'nlb-unique-port', balancer: 'nginx' });
  expectPass(t, r);
  t.match(r.balancer, /nginx/);
});

testNeeding(t, 'nginx', hint, 'single-address through nginx with a queue per node fails', async (t) => {
  expectSingleAddressFailure(t, await runRoute(t, { kind: 'single-address', balancer: 'nginx' }));
});

testNeeding(t, 'nginx', hint, 'nginx terminating TLS (the ALB stand-in) is diagnosed as TLS offload', async (t) => {
  expectTlsOffloadFailure(t, await runRoute(t, { kind: 'alb', balancer: 'nginx' }));
});
