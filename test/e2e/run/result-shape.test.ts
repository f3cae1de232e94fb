import t, { type Test } from 'tap';
import { RESULT_SCHEMA, type Quantiles } from '../../../src/result/result.js';
import { runSmall, smallScenario } from '../../helpers/run.js';

function isQuantiles(t: Test, q: Quantiles | null | undefined, what: string): void {
  t.ok(q && typeof q === 'object', `${what} present`);
  if (!q) return;
  t.type(q.count, 'number', `${what}.count`);
  for (const k of ['min', 'p50', 'p90', 'p99', 'max', 'mean'] as const) {
    t.ok(q[k] === null || typeof q[k] === 'number', `${what}.${k} number or null`);
    if (q.count > 0) t.type(q[k], 'number', `${what}.${k} measured`);
  }
}

// Every field of the Result is there, and the cluster's API key never leaks into it.
t.test('Result shape of an embedded run, without the API key', async (t) => {
  const result = await runSmall(smallScenario({ name: 'shape', fleet: { tentacles: 3, rampUp: '1s' }, duration: '3s' }), t.testdir());
  t.equal(result.schema, RESULT_SCHEMA);
  t.equal(result.name, 'shape');
  t.equal(result.route, 'direct');
  t.equal(result.target, 'embedded');
  t.ok(result.scenario && typeof result.scenario === 'object', 'scenario');
  t.ok(Array.isArray(result.shortened) && result.shortened.some((s) => /pollingQueueWait/.test(s)), 'shortened settings labelled');
  t.ok(!Number.isNaN(Date.parse(result.startedAt)), 'startedAt is a date');
  t.ok(!Number.isNaN(Date.parse(result.finishedAt)), 'finishedAt is a date');
  t.ok(Date.parse(result.finishedAt) >= Date.parse(result.startedAt));
  t.ok(result.durationMs >= 3_000 && result.durationMs < 60_000, `durationMs ${result.durationMs}`);
  t.equal(result.interrupted, false);

  const s = result.summary;
  t.equal(s.tentacles, 3);
  t.equal(s.nodes, 3);
  t.equal(s.pairs, 9);
  for (const k of ['final', 'min', 'mean'] as const) t.type(s.coverage[k], 'number', `coverage.${k}`);
  isQuantiles(t, s.pickupMs, 'pickupMs');
  t.ok(s.pickupMs!.count > 0);
  t.ok(s.requests, 'requests');
  for (const k of ['queued', 'collected', 'expired'] as const) t.type(s.requests?.[k], 'number', `requests.${k}`);
  isQuantiles(t, s.handshakeMs.tcp, 'handshakeMs.tcp');
  isQuantiles(t, s.handshakeMs.tls, 'handshakeMs.tls');
  isQuantiles(t, s.handshakeMs.identify, 'handshakeMs.identify');
  isQuantiles(t, s.registrationMs, 'registrationMs');
  t.equal(s.registrationMs.count, 3, 'one registration per tentacle');
  t.type(s.reconnects, 'number');
  t.ok(s.errors && typeof s.errors === 'object', 'errors');

  t.equal(result.nodes.length, 3);
  for (const n of result.nodes) {
    t.type(n.name, 'string');
    t.match(n.address, /^[\d.]+:\d+$/, `${n.name} address`);
    t.type(n.connectedTentacles, 'number');
    for (const k of ['final', 'min', 'mean'] as const) t.type(n.coverage[k], 'number', `${n.name} coverage.${k}`);
    isQuantiles(t, n.pickupMs, `${n.name} pickupMs`);
    t.ok(n.requests, `${n.name} requests`);
  }

  t.ok(result.timeline.length >= 3, `timeline has ${result.timeline.length} points`);
  let lastT = -1;
  for (const p of result.timeline) {
    t.ok(p.t >= lastT, 'timeline in order');
    lastT = p.t;
    t.ok(p.coverage >= 0 && p.coverage <= 1);
    t.same(Object.keys(p.nodes).sort(), ['node1', 'node2', 'node3']);
  }
  t.type(result.verdict.pass, 'boolean');
  t.ok(Array.isArray(result.verdict.reasons));
  t.ok(Array.isArray(result.diagnosis));
  t.ok(Array.isArray(result.thresholds) && result.thresholds.length > 0, 'default thresholds evaluated');

  const json = JSON.stringify(result);
  t.notMatch(json, 'API-', 'no API key anywhere in result.json');
  t.notMatch(json, /apiKey"\s*:\s*"[^"]/, 'no apiKey value');
  t.notMatch(json, 'PRIVATE KEY', 'no private key');
});
