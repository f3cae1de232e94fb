import t from 'tap';
import { expectPass, runRoute } from '../../helpers/routes.js';
import { testNeeding } from '../../helpers/system-binary.js';

// Route kind proxy through a real Squid that pollfleet starts on loopback (generated config in the run folder).
const hint = 'apt-get install squid';

testNeeding(t, 'squid', hint, 'polling and registration through squid with Basic authentication pass', async (t) => {
  process.env['POLLFLEET_TEST_PROXY_PASSWORD'] = 'squid-secret-4711';
  t.teardown(() => delete process.env['POLLFLEET_TEST_PROXY_PASSWORD']);
  const r = await runRoute(t, { kind: 'proxy', proxy: { program: 'squid', requireAuth: true, username: 'tentacle', passwordEnv: 'POLLFLEET_TEST_PROXY_PASSWORD' } });
  expectPass(t, r);
  t.match(r.balancer, /squid \(CONNECT proxy\)/);
  t.ok(r.summary.registrationMs.count > 0, 'registration through squid worked');
  t.notOk(JSON.stringify(r).includes('squid-secret-4711'), 'the proxy password is nowhere in the Result');
});

testNeeding(t, 'squid', hint, 'squid denying CONNECT to the polling port: 403 diagnosed, registration through squid still works', async (t) => {
  const r = await runRoute(t, { kind: 'proxy', proxy: { program: 'squid', denyPorts: ['polling'] } });
  t.equal(r.verdict.pass, false, 'fails');
  t.equal(r.summary.errorExampleData?.['proxy.connect-denied']?.status, 403, 'squid answered 403');
  t.ok(r.diagnosis.some((d) => /^The proxy refused CONNECT to port \d+ \(403\) -- allow it/.test(d)), r.diagnosis.join('\n'));
  t.ok(r.diagnosis.some((d) => /Registration worked through the same proxy/.test(d)), 'the report says registration worked and polling did not');
});

testNeeding(t, 'squid', hint, 'a passwordEnv whose variable is not set is bad input, before squid starts', async (t) => {
  const r = await runRoute(t, { kind: 'proxy', proxy: { program: 'squid', requireAuth: true, username: 'tentacle', passwordEnv: 'POLLFLEET_TEST_PROXY_WRONG' }, registrationProxy: 'direct' }).catch((e: unknown) => e);
  t.match(String((r as Error).message ?? ''), /POLLFLEET_TEST_PROXY_WRONG is not set/, 'a passwordEnv that is not set is bad input');
});
