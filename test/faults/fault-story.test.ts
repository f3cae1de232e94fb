import t from 'tap';
import type { FaultFacts } from '../../src/metrics/fault-analysis.js';
import { faultDefinition, type FaultSpec } from '../../src/faults/fault-registry.js';
import type { FaultResult, Quantiles } from '../../src/result/result.js';
import { expiredMeaning, faultStory, recoveryVersusRetryWindow } from '../../src/verdict/fault-story.js';

/**
 * A fault's story from its numbers, the facts the analysis measured and its kind's words
 * (golden sentences: the reports print them as they are).
 */

const q = (count: number, p99: number): Quantiles => ({ count, p50: 10, p90: 20, p99, max: p99 + 50, mean: 12 }) as Quantiles;

function result(f: FaultSpec, o: Partial<FaultResult>): FaultResult {
  return {
    name: f.name, action: f.action, target: f.targetText, atMs: f.atMs, forMs: f.forMs, affectedPairs: 6, detectionMs: q(0, 0), recoveryMs: q(0, 0),
    timeToFullCoverageMs: null, queuedDuringFault: 0, expired: 0, lostAfterCollection: 0, reconnectAttempts: 0, peakHandshakesPerSec: 0, backoff: 'faithful', story: '', pass: true, reasons: [],
    ...o,
  };
}

function story(f: FaultSpec, r: Partial<FaultResult>, facts: Partial<FaultFacts>): string {
  const x = { started: true, node: null, lost: 0, fullAtMs: null, endAtMs: null, receiveRequestTimeoutMs: 3000, ...facts };
  return faultStory(result(f, r), faultDefinition(f.action).story(f), x);
}

const node2 = { target: { kind: 'node', node: 'node2' }, targetText: 'node2' } as const;

t.test('a crash: who noticed, what expired (and what was lost with the process), recovery after it returned', async (t) => {
  const crash: FaultSpec = { name: 'crash@node2', action: 'crash', ...node2, atMs: 31_000, forMs: 40_000 };
  t.equal(
    story(crash, { detectionMs: q(6, 120), recoveryMs: q(6, 2500), queuedDuringFault: 12, expired: 3, reconnectAttempts: 14, peakHandshakesPerSec: 4 }, { node: 'node2', lost: 2, fullAtMs: 75_000, endAtMs: 71_000 }),
    'node2 crashed (SIGKILL) at 0:31 for 40 s: all 6 affected pairs noticed within 120 ms (p99, max 170 ms); 3 requests queued on node2 expired (2 still queued when the process went away) -- an expired request fails the RPC; Tentacle retries it for about 2.5 minutes when RPC retries are on, so a deployment step fails when collection stays impossible longer than that; all 6 were identified again 2.5 s (p99) after node2 returned, with 14 connection attempts (peak 4/s); full coverage again at 1:15; recovered in 44 s: within the 2.5 min RPC retry window.',
  );
});

t.test('a hang carries its note on the receive timeout', async (t) => {
  const hang: FaultSpec = { name: 'hang@node2', action: 'hang', ...node2, atMs: 31_000, forMs: null };
  t.equal(
    story(hang, { detectionMs: q(4, 3100), queuedDuringFault: 5 }, { node: 'node2' }),
    "node2 hung (SIGSTOP) at 0:31: 4 of 6 affected pairs noticed within 3.1 s (p99, max 3.15 s); a stopped process's kernel still acknowledges data and TCP keep-alive probes, so keep-alive cannot reveal a hang: only the tentacle's receive timeout (3 s) can; 5 requests queued on node2 during the fault, none expired; none of them was identified again within the run; the fault lasted to the end of the run.",
  );
});

t.test('a network fault reads its parameters from describe()', async (t) => {
  const latency: FaultSpec = { name: 'latency@route', action: 'latency', target: { kind: 'route' }, targetText: 'route', atMs: 12_000, forMs: 5_000, share: 1, direction: 'downstream', latencyMs: 200, jitterMs: 50 };
  t.equal(
    story(latency, { affectedPairs: 18 }, { fullAtMs: 17_000, endAtMs: 17_000 }),
    '200 ms +- 50 ms downstream latency was added on route at 0:12 for 5 s: none of the 18 affected pairs lost its connection; no work expired; full coverage again at 0:17.',
  );
});

t.test('a fault that never started says so', async (t) => {
  const crash: FaultSpec = { name: 'crash@node2', action: 'crash', ...node2, atMs: 0, forMs: 1_000 };
  t.equal(story(crash, { affectedPairs: 0 }, { started: false }), 'crash@node2 did not start: the run ended first.');
});

t.test('recovery against the RPC retry window: within it, outside it (steps would fail), at its edge', async (t) => {
  t.equal(recoveryVersusRetryWindow(48_000), 'recovered in 48 s: within the 2.5 min RPC retry window');
  t.equal(recoveryVersusRetryWindow(190_000), 'recovered in 3 min 10 s: outside the 2.5 min RPC retry window: steps would fail');
  t.equal(recoveryVersusRetryWindow(150_000), 'recovered in 2 min 30 s: within the 2.5 min RPC retry window', 'the edge is still within');
  t.equal(recoveryVersusRetryWindow(61_000, 60_000), 'recovered in 1 min 1 s: outside the 1 min RPC retry window: steps would fail', 'the window is a parameter');
});

t.test('an expired request is a failed RPC that Tentacle retries, not a failed step', async (t) => {
  t.equal(expiredMeaning(), 'an expired request fails the RPC; Tentacle retries it for about 2.5 minutes when RPC retries are on, so a deployment step fails when collection stays impossible longer than that');
  t.notMatch(expiredMeaning(), /failed task step/);
});

t.test('a long crash: the story says steps would fail', async (t) => {
  const crash: FaultSpec = { name: 'crash@node2', action: 'crash', ...node2, atMs: 10_000, forMs: 200_000 };
  const text = story(crash, { detectionMs: q(6, 100), recoveryMs: q(6, 2000), expired: 1 }, { node: 'node2', fullAtMs: 215_000, endAtMs: 210_000 });
  t.match(text, /; recovered in 3 min 25 s: outside the 2\.5 min RPC retry window: steps would fail\.$/);
  // No pair lost its connection: nothing to compare.
  const quiet = story(crash, { detectionMs: q(0, 0) }, { node: 'node2', fullAtMs: 215_000, endAtMs: 210_000 });
  t.notMatch(quiet, /RPC retry window/);
});
