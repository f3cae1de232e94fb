import t from 'tap';
import { fault, faultScenario, runWithEvents } from '../../helpers/faults.js';

// A hung node's kernel keeps acknowledging data and keep-alive probes: only the tentacle's
// receive timeout (3 s here) notices. Resume without `for`: the separate resume action ends it.
t.test('hang (SIGSTOP) ... resume: detection bounded by the receive timeout, not earlier', async (t) => {
  const receiveMs = 3_000;
  const waitMs = 1_000;
  const { result } = await runWithEvents(
    faultScenario({
      name: 'hang',
      duration: '16s',
      faults: [
        { at: '1s', action: 'hang', target: 'node2' },
        { at: '7s', action: 'resume', target: 'node2' },
      ],
    }),
    t.testdir(),
  );
  const hang = fault(result, 'hang@node2');
  t.equal(hang.affectedPairs, 6);
  t.equal(hang.detectionMs.count, 6, 'every tentacle noticed within the 6 s hang');
  t.ok(hang.detectionMs.max! <= receiveMs + 1_000, `detection max ${hang.detectionMs.max} ms <= receive timeout ${receiveMs} ms (+ scheduling)`);
  t.ok(hang.detectionMs.min! >= receiveMs - waitMs - 500, `detection min ${hang.detectionMs.min} ms: nothing noticed before the receive timeout could run out (keep-alive is answered by the kernel)`);
  t.equal(hang.recoveryMs.count, 6, 'every pair identified again after the resume');
  t.ok(hang.recoveryMs.max! <= 3_000 + 1_500, `recovery max ${hang.recoveryMs.max} ms within the back-off max`);
  // Waiting for the next message (receive timeout) or, if the hang caught an exchange mid-way, for PROCEED (heartbeat timeout).
  const byTimeout = (result.summary.errors['timeout.receive'] ?? 0) + (result.summary.errors['timeout.heartbeat'] ?? 0);
  // At least one per tentacle: a quick retry or a reconnect that reaches the still-hung node
  // (its kernel accepts the connection, the handshake never completes) times out again.
  t.ok(byTimeout >= 6, `every tentacle gave up by a protocol timeout (${byTimeout})`);
  const byClose = (result.summary.errors['tcp.reset'] ?? 0) + (result.summary.errors['closed.by-peer'] ?? 0);
  t.equal(byClose, 0, 'none by a reset or close');
  t.match(hang.story, /keep-alive cannot reveal a hang: only the tentacle's receive timeout \(3 s\) can/);
  t.equal(hang.pass, true, hang.reasons.join('; '));
  t.ok(fault(result, 'resume@node2').timeToFullCoverageMs !== null, 'coverage whole again after the resume');
});
