import t from 'tap';
import { expectPass } from '../../helpers/routes.js';
import { expectHttpMode, expectMisroute, expectMissing, runSni } from '../../helpers/sni.js';

// Route sni-passthrough through pollfleet's SNI router simulator.

t.test('every name mapped to its node passes', async (t) => {
  const r = await runSni(t, 'simulator');
  expectPass(t, r);
  t.match(r.balancer, /sni router simulator/);
});

t.test('a misrouted name fails, naming the name and the node it reached', async (t) => {
  expectMisroute(t, await runSni(t, 'simulator', { misroute: { 'polling2.example.test': 'node1' } }));
});

t.test('a missing name fails, naming it', async (t) => {
  expectMissing(t, await runSni(t, 'simulator', { missing: ['polling3.example.test'] }));
});

t.test('an HTTP-mode proxy on 443 fails: TLS terminated', async (t) => {
  expectHttpMode(t, await runSni(t, 'simulator', { mode: 'http' }));
});
