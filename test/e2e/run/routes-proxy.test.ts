import t from 'tap';
import { expectPass, runRoute } from '../../helpers/routes.js';

// Route kind proxy over pollfleet's CONNECT simulator: every connection tunnels through it.

t.test('polling through the CONNECT simulator passes, registration through the same proxy', async (t) => {
  const r = await runRoute(t, { kind: 'proxy', proxy: { program: 'simulator' } });
  expectPass(t, r);
  t.match(r.balancer, /CONNECT proxy simulator/);
  t.ok(r.summary.registrationMs.count > 0, 'registration through the proxy worked');
});

t.test('a proxy that denies CONNECT to the polling port: registration works, polling does not, and the report says which', async (t) => {
  const r = await runRoute(t, { kind: 'proxy', proxy: { program: 'simulator', denyPorts: ['polling'] } });
  t.equal(r.verdict.pass, false, 'fails');
  t.ok((r.summary.errors['proxy.connect-denied'] ?? 0) > 0, 'refused CONNECTs counted');
  t.equal(r.summary.errorExampleData?.['proxy.connect-denied']?.status, 403, 'status as a data field');
  t.ok(r.summary.registrationMs.count > 0, 'registration through the same proxy worked');
  t.ok(r.diagnosis.some((d) => /^The proxy refused CONNECT to port \d+ \(403\) -- allow it/.test(d)), r.diagnosis.join('\n'));
  t.ok(r.diagnosis.some((d) => /Registration worked through the same proxy .* but polling through the proxy never did/.test(d)), 'the report says registration worked and polling did not');
});

t.test('a proxy demanding authentication: 407 diagnosed', async (t) => {
  const r = await runRoute(t, { kind: 'proxy', proxy: { program: 'simulator', requireAuth: true }, registrationProxy: 'direct' });
  t.equal(r.verdict.pass, false, 'fails');
  t.ok((r.summary.errors['proxy.auth-required'] ?? 0) > 0, '407s counted');
  t.ok(r.diagnosis.some((d) => /^Proxy authentication required \(407\)/.test(d)), r.diagnosis.join('\n'));
  t.ok(r.diagnosis.some((d) => /Registration worked straight to the nodes/.test(d)), 'registration went straight and worked');
});

t.test('a proxy that inspects TLS: the node certificate replaced by one its CA issued', async (t) => {
  const r = await runRoute(t, { kind: 'proxy', proxy: { program: 'simulator', inspectTls: true } });
  t.equal(r.verdict.pass, false, 'fails');
  t.ok((r.summary.errors['tls.thumbprint-mismatch'] ?? 0) > 0, 'mismatches counted');
  t.equal(r.summary.errorExampleData?.['tls.thumbprint-mismatch']?.presentedIssuer, 'pollfleet inspecting proxy CA', 'the issuer as a data field');
  t.ok(r.diagnosis.some((d) => d.startsWith('The proxy inspects TLS: the node certificate was replaced by one issued by pollfleet inspecting proxy CA; exempt the polling port from inspection')), r.diagnosis.join('\n'));
  t.notOk(r.diagnosis.some((d) => /^TLS offload in the path/.test(d)), 'the generic TLS offload sentence is replaced');
  t.ok(r.summary.registrationMs.count > 0, 'registration still worked (install succeeds, polling never works)');
});

t.test('the other way round: the proxy refuses the REST API, so registration fails and the report says the proxy did it', async (t) => {
  const r = await runRoute(t, { kind: 'proxy', proxy: { program: 'simulator', denyPorts: ['api'] } });
  t.equal(r.verdict.pass, false, 'fails');
  t.equal(r.summary.registrationMs.count, 0, 'no tentacle registered');
  t.match(r.summary.errorExampleData?.['registration.failed'], { status: 403 }, 'the refusal is in the registration error data');
  t.ok(r.diagnosis.some((d) => /^Registration through the same proxy failed: the proxy 127\.0\.0\.1:\d+ answered 403 for 6 tentacles/.test(d)), r.diagnosis.join('\n'));
});
