import t from 'tap';
import { fault, faultScenario, runWithEvents } from '../../helpers/faults.js';

function nlbScenario(name: string, nlb: Record<string, unknown>, faults: unknown[], duration = '14s'): Record<string, unknown> {
  return faultScenario({
    name,
    route: { kind: 'nlb-unique-port', nlb: { healthCheck: { protocol: 'http', interval: '500ms', timeout: '400ms', unhealthyThreshold: 2, healthyThreshold: 2 }, ...nlb } },
    cluster: { nodes: 2, pollingPort: 0 },
    duration,
    faults,
  });
}

t.test('deregister (with termination), unhealthy, idle timeout below the poll cycle, reconnect storm', async (t) => {
  const { result } = await runWithEvents(
    nlbScenario(
      'nlb-faults',
      { healthCheck: { protocol: 'tcp', interval: '1s' }, deregistrationDelay: '1s', deregistrationTermination: true },
      [
        { at: '1s', action: 'deregister', target: 'balancer:node1' },
        { at: '3s', action: 'register', target: 'balancer:node1' },
        { at: '7s', action: 'unhealthy', target: 'balancer:node2', for: '2s' },
        { at: '12s', action: 'idle-timeout', target: 'balancer', idleTimeout: '500ms', for: '3s' },
        { at: '20s', action: 'reconnect-storm', target: 'balancer:node1' },
      ],
      '27s',
    ),
    t.testdir(),
  );
  const dereg = fault(result, 'deregister@balancer:node1');
  t.equal(dereg.affectedPairs, 6);
  t.equal(dereg.detectionMs.count, 6, 'connections reset when the deregistration delay ended');
  t.ok(dereg.detectionMs.min! >= 900, `not before the 1 s delay (${dereg.detectionMs.min} ms)`);
  t.equal(dereg.recoveryMs.count, 6, 'back after register');
  const sick = fault(result, 'unhealthy@balancer:node2');
  t.equal(sick.detectionMs.count, 6, 'an unhealthy target\'s connections are reset on their next packet');
  t.ok(sick.detectionMs.max! <= 1_000 + 1_500, `within one poll cycle, before the 3 s receive timeout (${sick.detectionMs.max} ms)`);
  const idle = fault(result, 'idle-timeout@balancer');
  t.ok(idle.detectionMs.count >= 6, `idle flows dropped and reset (${idle.detectionMs.count} pairs)`);
  t.ok(result.diagnosis.some((d) => /idle timeout \(0\.5 s\) is shorter than the poll cycle \(pollingQueueWait 1 s\)/.test(d)), `diagnosis: ${result.diagnosis.join(' | ')}`);
  const storm = fault(result, 'reconnect-storm@balancer:node1');
  t.equal(storm.affectedPairs, 6);
  t.equal(storm.detectionMs.count, 6);
  t.ok(storm.detectionMs.max! < 2_000, `RST at once, well before the 3 s receive timeout (${storm.detectionMs.max} ms)`);
  t.equal(storm.recoveryMs.count, 6);
  t.ok(storm.peakHandshakesPerSec >= 1 && storm.peakHandshakesPerSec <= 6);
  t.ok(storm.timeToFullCoverageMs !== null, 'full coverage again');
  for (const f of result.faults) t.equal(f.pass, true, `${f.name}: ${f.reasons.join('; ')}`);
});
