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

// The drain trap: drain answers 418 on the ping path, the HTTP health check turns the target unhealthy.
t.test('drain behind an NLB with onUnhealthy reset: every connection to the node is reset', async (t) => {
  const { result } = await runWithEvents(nlbScenario('drain-reset', { onUnhealthy: 'reset' }, [{ at: '1s', action: 'drain', target: 'node2', for: '4s' }]), t.testdir());
  const f = fault(result, 'drain@node2');
  t.equal(f.affectedPairs, 6);
  t.equal(f.detectionMs.count, 6, 'all 6 connections to the draining node were reset');
  t.ok(f.detectionMs.min! >= 500, `not before the health check could fail twice (${f.detectionMs.min} ms)`);
  t.equal(f.recoveryMs.count, 6, 'and came back');
  t.ok((result.summary.errors['tcp.reset'] ?? 0) >= 6, `the tentacles saw resets: ${JSON.stringify(result.summary.errors)}`);
});

t.test('drain behind an NLB with onUnhealthy drain: connections are kept', async (t) => {
  const { result } = await runWithEvents(nlbScenario('drain-keep', { onUnhealthy: 'drain' }, [{ at: '1s', action: 'drain', target: 'node2', for: '4s' }]), t.testdir());
  const f = fault(result, 'drain@node2');
  t.equal(f.affectedPairs, 6);
  t.equal(f.detectionMs.count, 0, 'no connection lost');
  t.equal(result.summary.errors['tcp.reset'] ?? 0, 0, 'no reset');
  t.equal(f.pass, true, f.reasons.join('; '));
  t.equal(result.summary.coverage.min, 1, 'coverage never dipped');
});
