import t from 'tap';
import type { PollfleetEvent } from '../../../src/core/events.js';
import { fault, faultScenario, runWithEvents } from '../../helpers/faults.js';

/** Requests queued on `node` and neither collected nor expired when `until` returns true. */
function pendingOn(events: PollfleetEvent[], node: string, until: (e: PollfleetEvent) => boolean): number {
  const pending = new Set<number>();
  for (const e of events) {
    if (until(e)) break;
    if (e.type === 'request-queued' && e.node === node) pending.add(e.requestKey);
    else if (e.type === 'request-dispatched' && e.owner === node) pending.delete(e.requestKey);
    else if (e.type === 'request-expired' && e.node === node) pending.delete(e.requestKey);
  }
  return pending.size;
}

// Tentacle 0 does not poll node2, so node2 always holds work for it that no one can collect.
t.test('crash (SIGKILL) ... restart, then a graceful stop for 2 s', async (t) => {
  const { result, events } = await runWithEvents(
    faultScenario({
      name: 'node-faults',
      fleet: { tentacles: 6, rampUp: '1s', overrides: [{ tentacles: 0, nodes: ['node1', 'node3'] }] },
      duration: '20s',
      faults: [
        { at: '1s', action: 'crash', target: 'node2' },
        { at: '4s', action: 'restart', target: 'node2' },
        { at: '9s', action: 'stop', target: 'node3', for: '2s' },
      ],
    }),
    t.testdir(),
  );
  t.equal(result.faults.length, 3);
  const crash = fault(result, 'crash@node2');
  t.equal(crash.affectedPairs, 5, 'the 5 tentacles connected to node2');
  t.equal(crash.detectionMs.count, 5, 'every one noticed');
  t.ok(crash.detectionMs.max! < 2_000, `crash detection max ${crash.detectionMs.max} ms (the kernel closes the sockets)`);
  t.equal(crash.recoveryMs.count, 5, 'every one identified again');
  t.ok(crash.recoveryMs.max! <= 3_000 + 1_500, `recovery max ${crash.recoveryMs.max} ms within the back-off max (3 s) + a handshake`);
  const lost = pendingOn(events, 'node2', (e) => e.type === 'node-state' && e.node === 'node2' && e.state === 'crashed');
  t.ok(lost > 0, `work for tentacle 0 was queued on node2 when it died (${lost})`);
  t.equal(crash.expired, lost, 'expired = the requests still queued on the dead node');
  t.ok(crash.reconnectAttempts >= 5, `reconnect attempts ${crash.reconnectAttempts}`);
  t.ok(crash.peakHandshakesPerSec >= 1 && crash.peakHandshakesPerSec <= 5);
  t.equal(crash.backoff, 'shortened');
  const cov = result.timeline.map((p) => `${p.t}:${p.coverage.toFixed(2)}:${p.phase}`).join(' ');
  // Generous: under a loaded CI machine the restarted node takes seconds to come up, and the next fault (at 9 s) can overlap.
  t.ok(crash.timeToFullCoverageMs !== null && crash.timeToFullCoverageMs < 12_000, `time to full coverage ${crash.timeToFullCoverageMs} ms (timeline ${cov})`);
  t.match(crash.story, /^node2 crashed \(SIGKILL\) at \d+:\d\d: all 5 affected pairs noticed within .*; \d+ requests? queued on node2 expired .*all 5 were identified again .* after node2 returned/);
  t.equal(crash.pass, true, crash.reasons.join('; '));

  const stop = fault(result, 'stop@node3');
  t.equal(stop.affectedPairs, 6);
  t.equal(stop.detectionMs.count, 6, 'END reached every tentacle');
  t.ok(stop.detectionMs.max! < 2_000, `graceful stop noticed within ${stop.detectionMs.max} ms`);
  t.equal(stop.recoveryMs.count, 6);
  t.ok(stop.recoveryMs.max! <= 3_000 + 1_500, `recovery max ${stop.recoveryMs.max} ms`);
  t.equal(stop.pass, true, stop.reasons.join('; '));

  const phases = new Set(result.timeline.map((p) => p.phase));
  t.ok(phases.has('fault') && phases.has('recovering'), `timeline phases: ${[...phases].join(', ')}`);
  t.ok(result.summary.coverage.min < result.summary.coverage.final, 'coverage dipped during the faults');
});
