import t from 'tap';
import { renderJunit } from '../../src/report/render-junit.js';
import { findAll, parseXml } from '../helpers/report-xml.js';
import { loadComparison, loadResult } from '../helpers/report-fixtures.js';

function suitesOf(xml: string) {
  const doc = parseXml(xml);
  const root = doc.children[0]!;
  if (doc.children.length !== 1 || root.name !== 'testsuites') throw new Error('expected one <testsuites> root element');
  return { root, suites: findAll(root, 'testsuite') };
}

t.test('failing single-address run: counts, attributes, failure messages', async (t) => {
  const r = loadResult('result-fail-single-address');
  const xml = renderJunit(r);
  t.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n/);
  const { root, suites } = suitesOf(xml);
  t.equal(suites.length, 1);
  const s = suites[0]!;
  for (const a of ['name', 'tests', 'failures', 'errors', 'time']) t.ok(a in s.attrs, `testsuite has ${a}`);
  const cases = findAll(s, 'testcase');
  // 7 thresholds + 3 nodes, no faults
  t.equal(cases.length, 10);
  t.equal(s.attrs.tests, '10');
  const failed = cases.filter((c) => c.children.some((x) => x.name === 'failure'));
  // thresholds: 5 failed; nodes: node2, node3
  t.equal(failed.length, 7);
  t.equal(s.attrs.failures, '7');
  t.equal(s.attrs.errors, '0');
  t.equal(s.attrs.time, '30');
  t.equal(root.attrs.tests, '10');
  t.equal(root.attrs.failures, '7');
  for (const c of cases) t.ok(c.attrs.name && c.attrs.classname && c.attrs.time !== undefined, `testcase ${c.attrs.name} has name/classname/time`);

  const node2 = cases.find((c) => c.attrs.name === 'node2 polled by every tentacle')!;
  const f = node2.children.find((x) => x.name === 'failure')!;
  t.equal(f.attrs.message, 'node2 was polled by 0 of 6 tentacles (never polled); 12 requests expired');
  t.match(f.text, /Diagnosis:\n- node2 and node3 were never polled/);
  t.notOk(cases.find((c) => c.attrs.name === 'node1 polled by every tentacle')!.children.length, 'node1 passes');

  const cov = cases.find((c) => c.attrs.name === 'threshold coverage.min >= 100%')!;
  t.equal(cov.children[0]!.attrs.message, 'coverage.min: actual 33.3 %, expected >= 100 %', 'actual vs expected, unescaped by the parser');
  t.ok(cases.some((c) => c.attrs.name === 'threshold nodes.*.connectedTentacles == fleet [nodes.node2.connectedTentacles]'));
  t.match(xml, /&gt;= 100%/, 'XML-escaped in the raw text');
  t.match(findAll(s, 'system-out')[0]!.text, /verdict: FAIL/);
});

t.test('fault run: one testcase per fault; a failed fault carries its story', async (t) => {
  const r = loadResult('result-fault');
  let { suites } = suitesOf(renderJunit(r));
  let cases = findAll(suites[0]!, 'testcase');
  t.equal(cases.length, 4 + 3 + 1);
  t.equal(suites[0]!.attrs.failures, '0');
  const fault = cases.find((c) => c.attrs.name === 'fault crash@node2 recovers')!;
  t.equal(fault.attrs.time, '15');
  r.faults[0]!.pass = false;
  r.faults[0]!.reasons = ['coverage did not return to 100 % <within> the run & more'];
  ({ suites } = suitesOf(renderJunit(r)));
  cases = findAll(suites[0]!, 'testcase');
  const failure = cases.find((c) => c.attrs.name === 'fault crash@node2 recovers')!.children[0]!;
  t.equal(failure.attrs.message, 'crash@node2: coverage did not return to 100 % <within> the run & more');
  t.match(failure.text, /node2 crashed at 0:20/);
});

t.test('comparison: one testsuite per route inside <testsuites>', async (t) => {
  const c = loadComparison();
  const { root, suites } = suitesOf(renderJunit(c));
  t.equal(suites.length, 3);
  t.same(suites.map((s) => s.attrs.name), ['compare-routes (direct)', 'compare-routes (nlb-unique-port)', 'compare-routes (alb)']);
  t.same(suites.map((s) => s.attrs.failures), ['0', '0', '7']);
  t.equal(root.attrs.tests, String(suites.reduce((a, s) => a + Number(s.attrs.tests), 0)));
  t.equal(root.attrs.failures, '7');
});

t.test('hostile text is escaped and control characters dropped', async (t) => {
  const r = loadResult('result-pass-direct');
  r.name = 'a"b<c>&d\u0001';
  r.diagnosis = ['quote " apostrophe \' <tag> & ampersand'];
  r.thresholds[0]!.pass = false;
  const doc = parseXml(renderJunit(r));
  const s = findAll(doc, 'testsuite')[0]!;
  t.equal(s.attrs.name, 'a"b<c>&d (direct)');
  t.match(findAll(s, 'failure')[0]!.text, /quote " apostrophe ' <tag> & ampersand/);
});
