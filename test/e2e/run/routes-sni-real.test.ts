import t from 'tap';
import { expectPass } from '../../helpers/routes.js';
import { expectHttpMode, expectMisroute, expectMissing, runSni } from '../../helpers/sni.js';
import { testNeeding } from '../../helpers/system-binary.js';

// The same sni-passthrough verdicts through real HAProxy (mode tcp, req.ssl_sni) and real
// nginx (stream, ssl_preread, a map on $ssl_preread_server_name), started with a generated config.

for (const [program, hint] of [['haproxy', 'apt-get install haproxy'], ['nginx', 'apt-get install nginx libnginx-mod-stream']] as const) {
  testNeeding(t, program, hint, `${program}: every name mapped passes`, async (t) => {
    const r = await runSni(t, program);
    expectPass(t, r);
    t.match(r.balancer, new RegExp(`${program} \\(mode tcp, SNI passthrough\\)`));
  });

  testNeeding(t, program, hint, `${program}: a misrouted name fails, naming the node it reached`, async (t) => {
    expectMisroute(t, await runSni(t, program, { misroute: { 'polling2.example.test': 'node1' } }));
  });

  testNeeding(t, program, hint, `${program}: a missing name fails, naming it`, async (t) => {
    expectMissing(t, await runSni(t, program, { missing: ['polling3.example.test'] }));
  });

  testNeeding(t, program, hint, `${program} in HTTP mode on 443 fails: TLS terminated`, async (t) => {
    expectHttpMode(t, await runSni(t, program, { mode: 'http' }));
  });
}
