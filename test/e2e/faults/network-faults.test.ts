import t from 'tap';
import { fault, faultScenario, runWithEvents } from '../../helpers/faults.js';

// Fault proxies in front of the nodes (direct route). Harmless toxics first, then the ones that cut connections.
t.test('latency, bandwidth, slice pass; reset, limit-data and blackhole cut connections and they come back', async (t) => {
  const { result } = await runWithEvents(
    faultScenario({
      name: 'network',
      fleet: { tentacles: 6, rampUp: '1s' },
      duration: '30s',
      faults: [
        { at: '1s', action: 'latency', target: 'route', latencyMs: 200, jitterMs: 50, for: '3s' },
        { at: '1s', action: 'bandwidth', target: 'node1', bytesPerSec: 50_000, for: '3s' },
        { at: '1s', action: 'slice', target: 'node3', sliceBytes: 3, delayMs: 1, for: '3s' },
        { at: '6s', action: 'reset', target: 'route', share: 0.5 },
        { at: '10s', action: 'limit-data', target: 'node3', bytes: 0, direction: 'downstream', for: '1s' },
        { at: '14s', action: 'blackhole', target: 'node1', for: '4s' },
      ],
    }),
    t.testdir(),
  );
  for (const name of ['latency@route', 'bandwidth@node1', 'slice@node3']) {
    const f = fault(result, name);
    t.equal(f.detectionMs.count, 0, `${name}: no connection lost (${f.story})`);
    t.equal(f.pass, true, `${name}: ${f.reasons.join('; ')}`);
  }
  t.equal(fault(result, 'latency@route').affectedPairs, 18);
  const reset = fault(result, 'reset@route');
  t.equal(reset.affectedPairs, 18);
  t.equal(reset.detectionMs.count, 9, 'half of 18 connections reset');
  t.ok(reset.detectionMs.max! < 2_000, `RST noticed at once, well before the 3 s receive timeout (${reset.detectionMs.max} ms)`);
  t.equal(reset.recoveryMs.count, 9);
  t.ok(reset.recoveryMs.max! <= 3_000 + 1_500, `back within the back-off (${reset.recoveryMs.max} ms)`);
  const limit = fault(result, 'limit-data@node3');
  t.equal(limit.detectionMs.count, 6, 'every node3 connection closed after 0 bytes');
  t.equal(limit.recoveryMs.count, 6, 'identified again once the limit was lifted');
  const hole = fault(result, 'blackhole@node1');
  t.equal(hole.detectionMs.count, 6, 'a blackhole is noticed by the receive timeout');
  t.ok(hole.detectionMs.max! <= 3_000 + 1_000, `within the receive timeout (${hole.detectionMs.max} ms)`);
  t.ok(hole.detectionMs.min! >= 1_000, `but not at once: nothing closes (${hole.detectionMs.min} ms)`);
  t.equal(hole.recoveryMs.count, 6);
  t.equal(hole.pass, true, hole.reasons.join('; '));
  t.equal(result.summary.coverage.final, 1, 'every pair covered at the end');
});
