import t from 'tap';
import { expectPass } from '../../helpers/routes.js';
import { expectHttpMode, expectMisroute, expectMissing, runSni } from '../../helpers/sni.js';
import { testNeeding } from '../../helpers/system-binary.js';

// The same sni-passthrough verdicts as over the simulator, through real HAProxy (mode tcp, tcp-request inspect-delay, req.ssl_sni),
// started by pollfleet with a generated config in the run folder.
const hint = 'apt-get install haproxy';

testNeeding(t, 'haproxy', hint, 'every name mapped passes', async (t) => {
  const r = await runSni(t, 'haproxy');
  expectPass(t, r);
  t.match(r.balancer, /haproxy \(mode tcp, SNI passthrough\)/);
});

testNeeding(t, 'haproxy', hint, 'a misrouted name fails, naming the node it reached', async (t) => {
  expectMisroute(t, await runSni(t, 'haproxy', { misroute: { 'polling2.example.test': 'node1' } }));
});

testNeeding(t, 'haproxy', hint, 'a missing name fails, naming it', async (t) => {
  expectMissing(t, await runSni(t, 'haproxy', { missing: ['polling3.example.test'] }));
});

testNeeding(t, 'haproxy', hint, 'HTTP mode on 443 fails: TLS terminated', async (t) => {
  expectHttpMode(t, await runSni(t, 'haproxy', { mode: 'http' }));
});
