import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PollfleetError } from '../../src/core/errors.js';
import { isComparison, parseResultDocument, readResultFile } from '../../src/result/read-result-file.js';
import { RESULT_SCHEMA_VERSION, type Result } from '../../src/result/result.js';
import { DurationHistogram } from '../../src/result/histogram.js';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const fixture = (name: string): Record<string, any> => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8'));

/** The error parseResultDocument throws for `doc`, as kind + message. */
function failure(doc: unknown, file = 'result.json'): { kind: string; message: string } {
  try {
    parseResultDocument(doc, file);
  } catch (e) {
    if (e instanceof PollfleetError) return { kind: e.kind, message: e.message };
    throw e;
  }
  throw new Error('expected the document to be rejected');
}

t.test('the fixtures written before schemaVersion still load, as version 1', async (t) => {
  for (const name of ['result-pass-direct', 'result-fault', 'result-fail-single-address']) {
    const doc = readResultFile(join(FIXTURES, `${name}.json`));
    t.notOk(isComparison(doc), `${name} is a Result`);
    t.equal(doc.schemaVersion, 1, `${name} reads as version 1`);
    const r = doc as Result;
    t.equal(r.summary.handshakeMs.tcp.histogram, null, `${name}: no histogram before version 2`);
    t.same(r.summary.errorExamples, {}, `${name}: errorExamples defaults to none`);
    t.notOk('pickupHistogram' in r.nodes[0]!, `${name}: pickupHistogram folded into pickupMs`);
  }
  const c = readResultFile(join(FIXTURES, 'comparison-routes.json'));
  t.ok(isComparison(c), 'comparison-routes is a Comparison');
  if (isComparison(c)) {
    t.equal(c.schemaVersion, 1);
    t.equal(c.runs.length, 3);
    t.equal(c.runs[0]!.result.schemaVersion, 1, 'embedded results too');
  }
});

t.test('the figures of a fixture are read back unchanged', async (t) => {
  const raw = fixture('result-fault');
  const r = parseResultDocument(raw, 'result-fault.json') as Result;
  t.same(r.summary.coverage, raw['summary'].coverage);
  t.same(r.faults[0]!.recoveryMs, { ...raw['faults'][0].recoveryMs, histogram: null });
  t.same(r.timeline, raw['timeline']);
  t.same(r.thresholds, raw['thresholds']);
});

t.test('a version 1 pickupHistogram moves into pickupMs.histogram', async (t) => {
  const h = new DurationHistogram();
  for (const ms of [1, 2, 3]) h.recordMs(ms);
  const raw = fixture('result-pass-direct');
  raw['nodes'][0].pickupHistogram = h.encode();
  const r = parseResultDocument(raw, 'r.json') as Result;
  t.equal(r.nodes[0]!.pickupMs!.histogram, h.encode());
  t.equal(new DurationHistogram(r.nodes[0]!.pickupMs!.histogram!).count, 3);
});

t.test('a version 2 document keeps its histograms; a newer version is refused', async (t) => {
  const raw = fixture('result-pass-direct');
  raw['schemaVersion'] = RESULT_SCHEMA_VERSION;
  const h = new DurationHistogram();
  h.recordMs(5000);
  raw['summary'].pollGapMs.histogram = h.encode();
  const r = parseResultDocument(raw, 'r.json') as Result;
  t.equal(r.schemaVersion, RESULT_SCHEMA_VERSION);
  t.equal(r.summary.pollGapMs.histogram, raw['summary'].pollGapMs.histogram);
  raw['schemaVersion'] = RESULT_SCHEMA_VERSION + 1;
  const f = failure(raw);
  t.match(f.message, /^result\.json: schemaVersion: version \d+ was written by a newer pollfleet/);
});

t.test('a foreign JSON names the schema field', async (t) => {
  const f = failure({ name: 'pollfleet', version: '0.1.0', dependencies: {} }, 'package.json');
  t.equal(f.kind, 'input.invalid');
  t.equal(f.message, 'package.json: schema: expected "pollfleet.result/v1" or "pollfleet.comparison/v1", got nothing (the field is missing)');
  t.match(failure({ schema: 'k6/summary' }).message, /schema: .*got "k6\/summary"/);
  t.equal(failure([1, 2]).message, 'result.json: expected a JSON object, got a list');
  t.equal(failure(null).message, 'result.json: expected a JSON object, got null');
});

t.test('a wrong type names the field path and what was expected', async (t) => {
  const raw = fixture('result-fault');
  raw['summary'].coverage.final = '100%';
  t.equal(failure(raw).message, 'result.json: summary.coverage.final: expected a number, got string');

  const q = fixture('result-fault');
  q['faults'][0].detectionMs.p99 = true;
  t.equal(failure(q).message, 'result.json: faults[0].detectionMs.p99: expected a number, got boolean true');

  const e = fixture('result-fault');
  e['timeline'][2].phase = 'dancing';
  t.match(failure(e).message, /^result\.json: timeline\[2\]\.phase: expected one of "registering", .*got "dancing"$/);

  const w = fixture('result-fault');
  w['summary'].tentacles = 1.5;
  t.equal(failure(w).message, 'result.json: summary.tentacles: expected a whole number, got number 1.5');

  // thousands of nodes is no Result (a report of 50,000 rendered for minutes): refused, named
  const many = fixture('result-fault');
  many['nodes'] = Array.from({ length: 101 }, (_, i) => ({ ...many['nodes'][0], name: `node${i}` }));
  t.match(failure(many).message, /^result\.json: nodes: expected at most 100/);

  const c = fixture('comparison-routes');
  c['runs'][1].result.nodes[2].polls = 'many';
  t.equal(failure(c, 'comparison.json').message, 'comparison.json: runs[1].result.nodes[2].polls: expected a number, got string');
});

t.test('a missing field names the field path', async (t) => {
  const raw = fixture('result-pass-direct');
  delete raw['summary'].handshakeMs.tls;
  t.equal(failure(raw).message, 'result.json: summary.handshakeMs.tls: expected an object, got nothing (the field is missing)');
  const v = fixture('result-pass-direct');
  delete v['verdict'];
  t.equal(failure(v).message, 'result.json: verdict: expected an object, got nothing (the field is missing)');
});

t.test('the first wrong field is named, once, on one line', async (t) => {
  const raw = fixture('result-pass-direct');
  raw['durationMs'] = 'long';
  raw['summary'].tentacles = 'many';
  const f = failure(raw);
  t.equal(f.message.split('\n').length, 1);
  t.match(f.message, /^result\.json: durationMs: /);
});

t.test('a missing or unreadable file', async (t) => {
  const dir = t.testdir({ 'bad.json': '{"schema": "pollfleet.result/v1",' });
  t.throws(() => readResultFile(join(dir, 'none.json')), { kind: 'input.invalid', message: /none\.json: file not found/ });
  t.throws(() => readResultFile(join(dir, 'bad.json')), { kind: 'input.invalid', message: /bad\.json: not a JSON file/ });
});
