/**
 * Synthetic registrations tried again after a lost answer (no HTTP answer) in the Result and
 * the reports: counted with the machines a retry adopted. Without any, nothing changes.
 */
import t from 'tap';
import { Recorder } from '../../src/metrics/recorder.js';
import { buildResult, type RunFacts } from '../../src/metrics/result-builder.js';
import { renderConsoleResult } from '../../src/report/render-console.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { parseResultDocument } from '../../src/result/read-result-file.js';
import type { Result } from '../../src/result/result.js';
import { loadResult } from '../helpers/report-fixtures.js';

function retried(): Result {
  const r = loadResult('result-pass-direct');
  return { ...r, summary: { ...r.summary, registrationMs: { ...r.summary.registrationMs, lostAnswerRetries: 2, adopted: 1 } } };
}

t.test('console and markdown say "registration: 2 lost answers tried again, 1 machine adopted"', async (t) => {
  const r = retried();
  t.match(renderConsoleResult(r), 'registration: 2 lost answers tried again, 1 machine adopted (the REST API closed the connection or timed out');
  t.match(renderMarkdown(r), 'Registration: 2 lost answers tried again, 1 machine adopted');
  const plain = loadResult('result-pass-direct');
  t.notMatch(renderConsoleResult(plain), /lost answer/, 'no line without retries');
  t.notMatch(renderMarkdown(plain), /lost answer/);
});

t.test('the counts survive the Result schema', async (t) => {
  const back = parseResultDocument(JSON.parse(JSON.stringify(retried())), 'result.json') as Result;
  t.equal(back.summary.registrationMs.lostAnswerRetries, 2);
  t.equal(back.summary.registrationMs.adopted, 1);
});

t.test('registration events carry the retries; the Result sums them (absent when none)', async (t) => {
  const T0 = Date.UTC(2026, 0, 1);
  const plan = { tentacles: 3, nodeNames: ['node1'], pairSource: 'node' as const, entryNode: (_t: number, e: number) => e, queueGroups: [[0]], stalenessMs: 60_000 };
  const facts: RunFacts = {
    name: 'unit', route: 'direct', queue: 'per-node', target: 'external', balancer: null, scenario: { name: 'unit' }, shortened: [],
    toolVersion: '9.9.9', startedAt: T0, finishedAt: T0 + 4_000, finalAt: T0 + 2_500, interrupted: false,
    nodes: [{ name: 'node1', address: '127.0.0.1:10943', apiUrl: null }], nodeSideMeasured: false,
  };
  const rec = new Recorder(plan, T0);
  rec.record({ type: 'registration', at: T0 + 10, tentacle: 0, ok: true, durationMs: 3_000, lostAnswerRetries: 1, adopted: true });
  rec.record({ type: 'registration', at: T0 + 15, tentacle: 1, ok: true, durationMs: 300 });
  rec.record({ type: 'registration', at: T0 + 20, tentacle: 2, ok: false, durationMs: 9_000, errorKind: 'registration.failed', message: 'other side closed (no answer in 3 tries)', lostAnswerRetries: 2 });
  const r = buildResult(rec, facts);
  t.equal(r.summary.registrationMs.lostAnswerRetries, 3);
  t.equal(r.summary.registrationMs.adopted, 1);
  t.equal(r.summary.registrationMs.count, 2, 'the successes timed once each');
  t.same(r.summary.registrationMs.failures, { 'registration.failed': 1 }, 'the one that gave up is one failure');
  const quiet = new Recorder(plan, T0);
  quiet.record({ type: 'registration', at: T0 + 10, tentacle: 0, ok: true, durationMs: 300 });
  t.equal(buildResult(quiet, facts).summary.registrationMs.lostAnswerRetries, undefined);
  t.equal(buildResult(quiet, facts).summary.registrationMs.adopted, undefined);
});
