/**
 * Registration throttling (HTTP 429 waited out) in the Result and the reports: counted,
 * reported as throttling -- never as a failure or "server down". Without it, nothing changes.
 */
import t from 'tap';
import { Recorder } from '../../src/metrics/recorder.js';
import { buildResult, type RunFacts } from '../../src/metrics/result-builder.js';
import { renderConsoleResult } from '../../src/report/render-console.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { parseResultDocument } from '../../src/result/read-result-file.js';
import type { Result } from '../../src/result/result.js';
import { loadResult } from '../helpers/report-fixtures.js';

function throttled(): Result {
  const r = loadResult('result-pass-direct');
  return { ...r, summary: { ...r.summary, registrationMs: { ...r.summary.registrationMs, throttled: 12, throttledWaitMs: 41_200 } } };
}

t.test('console and markdown say "registration throttled 12 times, 41 s waited"', async (t) => {
  const r = throttled();
  const text = renderConsoleResult(r);
  t.match(text, 'registration throttled 12 times, 41 s waited (HTTP 429 with Retry-After');
  t.notMatch(text, /server (is )?down/i);
  t.match(renderMarkdown(r), 'Registration throttled 12 times, 41 s waited');
  const plain = loadResult('result-pass-direct');
  t.notMatch(renderConsoleResult(plain), /throttled/, 'no line without throttling');
  t.notMatch(renderMarkdown(plain), /throttled/);
});

t.test('the counts survive the Result schema', async (t) => {
  const back = parseResultDocument(JSON.parse(JSON.stringify(throttled())), 'result.json') as Result;
  t.equal(back.summary.registrationMs.throttled, 12);
  t.equal(back.summary.registrationMs.throttledWaitMs, 41_200);
});

t.test('registration events carry the counts; the Result sums them (absent when none)', async (t) => {
  const T0 = Date.UTC(2026, 0, 1);
  const plan = { tentacles: 2, nodeNames: ['node1'], pairSource: 'node' as const, entryNode: (_t: number, e: number) => e, queueGroups: [[0]], stalenessMs: 60_000 };
  const facts: RunFacts = {
    name: 'unit', route: 'direct', queue: 'per-node', target: 'external', balancer: null, scenario: { name: 'unit' }, shortened: [],
    toolVersion: '9.9.9', startedAt: T0, finishedAt: T0 + 4_000, finalAt: T0 + 2_500, interrupted: false,
    nodes: [{ name: 'node1', address: '127.0.0.1:10943', apiUrl: null }], nodeSideMeasured: false,
  };
  const rec = new Recorder(plan, T0);
  rec.record({ type: 'registration', at: T0 + 10, tentacle: 0, ok: true, durationMs: 3_000, throttled: 2, throttledWaitMs: 2_000 });
  rec.record({ type: 'registration', at: T0 + 20, tentacle: 1, ok: false, durationMs: 9_000, errorKind: 'registration.failed', status: 429, message: 'throttled', throttled: 3, throttledWaitMs: 7_500 });
  const r = buildResult(rec, facts);
  t.equal(r.summary.registrationMs.throttled, 5);
  t.equal(r.summary.registrationMs.throttledWaitMs, 9_500);
  const quiet = new Recorder(plan, T0);
  quiet.record({ type: 'registration', at: T0 + 10, tentacle: 0, ok: true, durationMs: 300 });
  t.equal(buildResult(quiet, facts).summary.registrationMs.throttled, undefined);
});
