import t from 'tap';
import { ROUTES } from '../../../src/environment/routes/route-registry.js';
import type { MeasuredRun } from '../../../src/environment/routes/route.js';
import { diagnose } from '../../../src/verdict/diagnose.js';

// The proxy route's sentences read the Result's error counts and data fields only.
function run(o: { errors?: Record<string, number>; data?: Record<string, object>; registered?: number; regFailures?: Record<string, number>; polls?: number; registration?: unknown }): MeasuredRun {
  const names = ['node1', 'node2'];
  const polled = (o.polls ?? 0) > 0;
  return {
    route: 'proxy', queue: 'per-node', faults: [], interrupted: false,
    scenario: { route: { proxy: { registration: o.registration ?? 'same' } } },
    summary: {
      tentacles: 2, errors: o.errors ?? {}, errorExamples: {}, errorExampleData: o.data ?? {},
      nodesNeverPolled: polled ? [] : names, requests: { expired: 0 }, polls: o.polls ?? 0,
      registrationMs: { count: o.registered ?? 2, failures: o.regFailures ?? {} },
    },
    nodes: names.map((name) => ({ name, polledBy: polled ? 2 : 0, requests: { expired: 0 } })),
  } as unknown as MeasuredRun;
}
const hints = ROUTES.proxy.diagnosis;

t.test('403: which port, and that registration worked while polling did not', async (t) => {
  const d = diagnose(run({ errors: { 'proxy.connect-denied': 4 }, data: { 'proxy.connect-denied': { status: 403, proxy: '127.0.0.1:3128', address: 'https://127.0.0.11:10943' } } }), hints);
  t.match(d[0], /^The proxy refused CONNECT to port 10943 \(403\) -- allow it: 4 connection attempts through 127\.0\.0\.1:3128/);
  t.match(d[1], /^Registration worked through the same proxy \(2 tentacles registered\) but polling through the proxy never did: the proxy refused CONNECT to port 10943 \(403\)/);
  t.notOk(d.some((x) => /never received a poll/.test(x)), 'the generic never-polled sentence is replaced');
});

t.test('407 with registration straight to the nodes', async (t) => {
  const d = diagnose(run({ errors: { 'proxy.auth-required': 2 }, data: { 'proxy.auth-required': { status: 407, proxy: '127.0.0.1:3128' } }, registration: 'direct' }), hints);
  t.match(d[0], /^Proxy authentication required \(407\)/);
  t.match(d[1], /^Registration worked straight to the nodes/);
});

t.test('TLS inspection replaces the generic TLS offload sentence; a plain mismatch keeps it', async (t) => {
  const mismatch = { expectedThumbprint: 'A'.repeat(40), presentedThumbprint: 'B'.repeat(40) };
  const inspected = diagnose(run({ errors: { 'tls.thumbprint-mismatch': 3 }, data: { 'tls.thumbprint-mismatch': { ...mismatch, presentedIssuer: 'Corp CA' } } }), hints);
  t.match(inspected[0], /^The proxy inspects TLS: the node certificate was replaced by one issued by Corp CA; exempt the polling port from inspection/);
  t.notOk(inspected.some((x) => /^TLS offload/.test(x)));
  const plain = diagnose(run({ errors: { 'tls.thumbprint-mismatch': 3 }, data: { 'tls.thumbprint-mismatch': mismatch } }), hints);
  t.match(plain[0], /^TLS offload in the path/, 'a wrong thumbprint (self-signed, no issuer) is not called inspection');
});

t.test('a proxy that is not there: named by its address', async (t) => {
  const d = diagnose(run({ errors: { 'tcp.refused': 5 }, data: { 'tcp.refused': { proxy: '127.0.0.1:3128', address: 'https://127.0.0.11:10943' } } }), hints);
  t.match(d[0], /^The proxy 127\.0\.0\.1:3128 refused 5 TCP connections -- is it running/);
  t.match(d[1], /^Registration worked through the same proxy .* the proxy 127\.0\.0\.1:3128 refused TCP connections/);
});

t.test('the other way round: registration through the proxy refused while polling worked', async (t) => {
  const d = diagnose(run({ polls: 10, registered: 1, regFailures: { 'registration.failed': 1 }, data: { 'registration.failed': { status: 403, proxy: '127.0.0.1:8080' } }, registration: { url: 'http://127.0.0.1:8080' } }), hints);
  t.match(d, [/^Registration through the proxy http:\/\/127\.0\.0\.1:8080 failed: the proxy 127\.0\.0\.1:8080 answered 403 for 1 tentacle while polling through the proxy worked/]);
});
