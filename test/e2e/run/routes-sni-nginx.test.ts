import t from 'tap';
import { expectPass } from '../../helpers/routes.js';
import { expectHttpMode, expectMisroute, expectMissing, runSni } from '../../helpers/sni.js';
import { testNeeding } from '../../helpers/system-binary.js';

// The same sni-passthrough verdicts as over the simulator, through real nginx (stream, ssl_preread, a map on $ssl_preread_server_name),
// started by pollfleet with a generated config in the run folder.
const hint = 'apt-get install nginx libnginx-mod-stream';

testNeeding(t, 'nginx', hint, 'every name mapped passes', async (t) => {
  const r = await runSni(t, 'nginx');
  expectPass(t, r);
  t.match(r.balancer, /nginx \(mode tcp, SNI passthrough\)/);
});

testNeeding(t, 'nginx', hint, 'a misrouted name fails, naming the node it reached', async (t) => {
  expectMisroute(t, await runSni(t, 'nginx', { misroute: { 'polling2.example.test': 'node1' } }));
});

testNeeding(t, 'nginx', hint, 'a missing name fails, naming it', async (t) => {
  expectMissing(t, await runSni(t, 'nginx', { missing: ['polling3.example.test'] }));
});

testNeeding(t, 'nginx', hint, 'HTTP mode on 443 fails: TLS terminated', async (t) => {
  expectHttpMode(t, await runSni(t, 'nginx', { mode: 'http' }));
});
