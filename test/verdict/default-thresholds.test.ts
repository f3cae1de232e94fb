/**
 * The real default thresholds (what a run must achieve when its scenario states none), per
 * kind of target and queue, and that a Result breaking each one fails the verdict.
 */
import t from 'tap';
import type { Scenario } from '../../src/scenario/resolve.js';
import { diagnose } from '../../src/verdict/diagnose.js';
import { computeVerdict, evaluateThresholds } from '../../src/verdict/evaluate.js';
import { defaultThresholds, thresholdsFor } from '../../src/verdict/judge.js';
import { parseThresholds } from '../../src/verdict/threshold-parser.js';
import { cleanRun, setExpired, setPolledBy, type MeasuredResult } from '../helpers/result-factory.js';

type Shape = { queue: 'per-node' | 'shared' | 'redis'; target: 'embedded' | 'external' };

// ---------- the one place that knows how the verdict module is called ----------

function defaultsFor(s: Shape): string[] {
  return defaultThresholds({ cluster: { queue: s.queue }, target: s.target } as Pick<Scenario, 'cluster' | 'target'>);
}

function thresholdsOf(s: Shape, scenarioThresholds: string[], extra: string[] = []): string[] {
  return thresholdsFor({ cluster: { queue: s.queue }, target: s.target, thresholds: scenarioThresholds } as unknown as Scenario, extra);
}

/** Judge a measured Result against the defaults for its shape. */
function judgeWithDefaults(r: MeasuredResult, s: Shape): { pass: boolean; reasons: string[]; failed: string[] } {
  const measured = { ...r, diagnosis: diagnose(r) };
  const results = evaluateThresholds(measured, parseThresholds(defaultsFor(s)));
  const verdict = computeVerdict(measured, results);
  return { ...verdict, failed: results.filter((x) => !x.pass).map((x) => x.metric) };
}

// ---------- the cases ----------

const PER_NODE: Shape = { queue: 'per-node', target: 'embedded' };
const SHARED: Shape = { queue: 'shared', target: 'embedded' };
const REDIS: Shape = { queue: 'redis', target: 'embedded' };
const EXTERNAL: Shape = { queue: 'per-node', target: 'external' };

t.test('the defaults per kind of run', async (t) => {
  t.same(defaultsFor(PER_NODE), ['coverage.final >= 1', 'requests.expired == 0', 'nodesNeverPolled == 0'], 'a queue per node: every node must be polled');
  t.same(defaultsFor(SHARED), ['coverage.final >= 1', 'requests.expired == 0'], 'a shared queue: any node hands out the work');
  t.same(defaultsFor(REDIS), defaultsFor(SHARED), 'a Redis queue is shared too');
  t.same(defaultsFor(EXTERNAL), ['coverage.final >= 1', 'nodesNeverPolled == 0'], 'external: no node-side request counts');
  t.same(defaultsFor({ queue: 'shared', target: 'external' }), defaultsFor(EXTERNAL), 'external ignores the queue kind');
  for (const s of [PER_NODE, SHARED, REDIS, EXTERNAL]) t.doesNotThrow(() => parseThresholds(defaultsFor(s)), `${s.queue}/${s.target} parse`);
});

t.test('scenario thresholds replace the defaults; command-line thresholds add to either', async (t) => {
  t.same(thresholdsOf(PER_NODE, []), defaultsFor(PER_NODE));
  t.same(thresholdsOf(PER_NODE, [], ['pickupMs.p99 < 5s']), [...defaultsFor(PER_NODE), 'pickupMs.p99 < 5s']);
  t.same(thresholdsOf(PER_NODE, ['reconnects == 0'], ['pickupMs.p99 < 5s']), ['reconnects == 0', 'pickupMs.p99 < 5s']);
});

t.test('a clean run passes the defaults of every kind', async (t) => {
  for (const s of [PER_NODE, SHARED, REDIS]) t.same(judgeWithDefaults(cleanRun({ queue: s.queue }), s), { pass: true, reasons: [], failed: [] }, `${s.queue}`);
  t.same(judgeWithDefaults(cleanRun({ target: 'external' }), EXTERNAL), { pass: true, reasons: [], failed: [] }, 'external');
});

t.test('coverage below 100 % at the end fails every kind', async (t) => {
  for (const s of [PER_NODE, SHARED, REDIS, EXTERNAL]) {
    const r = cleanRun({ queue: s.queue, target: s.target });
    r.summary.coverage.final = 0.9999;
    const v = judgeWithDefaults(r, s);
    t.equal(v.pass, false, `${s.queue}/${s.target}`);
    t.same(v.failed, ['coverage.final']);
  }
});

t.test('one expired request fails embedded runs; external runs have no request counts to judge', async (t) => {
  for (const s of [PER_NODE, SHARED, REDIS]) {
    const r = cleanRun({ queue: s.queue });
    setExpired(r, 'node2', 1);
    const v = judgeWithDefaults(r, s);
    t.equal(v.pass, false, s.queue);
    t.same(v.failed, ['requests.expired']);
  }
  t.equal(judgeWithDefaults(cleanRun({ target: 'external' }), EXTERNAL).pass, true, 'requests null: not a default for external');
});

t.test('a node never polled fails a per-node queue and an external run, not a shared queue', async (t) => {
  for (const [s, pass] of [[PER_NODE, false], [EXTERNAL, false], [SHARED, true], [REDIS, true]] as const) {
    const r = cleanRun({ queue: s.queue, target: s.target });
    setPolledBy(r, 'node3', 0);
    const v = judgeWithDefaults(r, s);
    t.equal(v.pass, pass, `${s.queue}/${s.target}: ${pass ? 'passes' : 'fails'}`);
    t.same(v.failed, pass ? [] : ['nodesNeverPolled']);
  }
});

t.test('an interrupted run fails even when every threshold holds', async (t) => {
  const r = cleanRun();
  r.interrupted = true;
  const v = judgeWithDefaults(r, PER_NODE);
  t.equal(v.pass, false);
  t.same(v.failed, []);
  t.match(v.reasons[0], /interrupted/);
});
