import type { Comparison, FaultResult, NodeResult, Result, ThresholdResult } from '../result/result.js';
import { formatCount, formatMs, msToSeconds } from '../core/format.js';
import { isComparison } from './render-markdown.js';
import { escapeXml as esc } from './svg/escape.js';
import { formatMetricValue, metricUnit } from '../result/metric-catalog.js';

/**
 * junit.xml for CI: a <testsuites> wrapper with one <testsuite> per run (per route in a
 * comparison), one <testcase> per threshold, per node ("node2 polled by every tentacle")
 * and per fault. A failure carries actual vs expected and the run's diagnosis.
 */

interface Case {
  name: string;
  classname: string;
  timeS: number;
  failure: { message: string; body: string } | null;
}

export function renderJunit(input: Result | Comparison): string {
  const results = isComparison(input) ? input.runs.map((r) => r.result) : [input];
  const suites = results.map(suite);
  const tests = suites.reduce((a, s) => a + s.tests, 0);
  const failures = suites.reduce((a, s) => a + s.failures, 0);
  const time = results.reduce((a, r) => a + msToSeconds(r.durationMs), 0);
  const name = isComparison(input) ? `pollfleet ${input.name}` : `pollfleet ${input.name}`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="${esc(name)}" tests="${tests}" failures="${failures}" errors="0" time="${time}">\n` +
    suites.map((s) => s.xml).join('') +
    `</testsuites>\n`
  );
}

function suite(r: Result): { xml: string; tests: number; failures: number } {
  const classname = `pollfleet.${r.name}.${r.route}`;
  const diagnosis = r.diagnosis.length ? `\n\nDiagnosis:\n${r.diagnosis.map((d) => `- ${d}`).join('\n')}` : '';
  const cases: Case[] = [
    ...r.thresholds.map((t) => thresholdCase(t, classname, diagnosis)),
    ...r.nodes.map((n) => nodeCase(n, r, classname, diagnosis)),
    ...r.faults.map((f) => faultCase(f, classname, diagnosis)),
  ];
  if (r.interrupted) {
    cases.push({ name: 'run completed', classname, timeS: 0, failure: { message: `the run was interrupted after ${formatMs(r.durationMs)}`, body: 'Figures cover only what ran.' } });
  }
  const failures = cases.filter((c) => c.failure).length;
  const props = [
    ['route', r.route],
    ['queue', r.queue],
    ['target', r.target],
    ['balancer', r.balancer ?? 'none'],
    ['tentacles', String(r.summary.tentacles)],
    ['nodes', String(r.summary.nodes)],
    ['pollfleet.version', r.tool.version],
    ...r.shortened.map((s) => ['shortened', s]),
  ];
  const xml =
    `  <testsuite name="${esc(`${r.name} (${r.route})`)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" ` +
    `time="${msToSeconds(r.durationMs)}" timestamp="${esc(r.startedAt.replace(/Z$/, ''))}">\n` +
    `    <properties>\n${props.map(([k, v]) => `      <property name="${esc(k!)}" value="${esc(v!)}"/>\n`).join('')}    </properties>\n` +
    cases.map(caseXml).join('') +
    `    <system-out>${esc(systemOut(r))}</system-out>\n` +
    `  </testsuite>\n`;
  return { xml, tests: cases.length, failures };
}

function caseXml(c: Case): string {
  const open = `    <testcase name="${esc(c.name)}" classname="${esc(c.classname)}" time="${c.timeS}"`;
  if (!c.failure) return `${open}/>\n`;
  return `${open}>\n      <failure message="${esc(c.failure.message)}" type="threshold.failed">${esc(c.failure.body)}</failure>\n    </testcase>\n`;
}

function thresholdCase(t: ThresholdResult, classname: string, diagnosis: string): Case {
  const name = t.expression.startsWith(t.metric) ? `threshold ${t.expression}` : `threshold ${t.expression} [${t.metric}]`;
  const actual = formatMetricValue(metricUnit(t.metric), t.actual);
  const message = `${t.metric}: actual ${actual}, expected ${t.expected}`;
  return { name, classname, timeS: 0, failure: t.pass ? null : { message, body: `${message}${diagnosis}` } };
}

function nodeCase(n: NodeResult, r: Result, classname: string, diagnosis: string): Case {
  const fleet = r.summary.tentacles;
  let message: string | null = null;
  if (n.polledBy === null) message = `${n.name}: tentacles polled by this node were not measured`;
  else if (n.polledBy < fleet) {
    message = `${n.name} was polled by ${formatCount(n.polledBy)} of ${formatCount(fleet)} tentacles${n.polledBy === 0 ? ' (never polled)' : ''}` +
      (n.requests && n.requests.expired > 0 ? `; ${formatCount(n.requests.expired)} requests expired` : '') +
      (n.requests && n.requests.lostAfterCollection > 0 ? `; ${formatCount(n.requests.lostAfterCollection)} requests lost after collection` : '');
  }
  return { name: `${n.name} polled by every tentacle`, classname, timeS: 0, failure: message ? { message, body: `${message}${diagnosis}` } : null };
}

function faultCase(f: FaultResult, classname: string, diagnosis: string): Case {
  const message = f.pass ? '' : `${f.name}: ${f.reasons.length ? f.reasons.join('; ') : 'did not recover'}`;
  return {
    name: `fault ${f.name} recovers`,
    classname,
    timeS: f.forMs === null ? 0 : msToSeconds(f.forMs),
    failure: f.pass ? null : { message, body: `${message}\n\n${f.story}${diagnosis}` },
  };
}

function systemOut(r: Result): string {
  return [
    `verdict: ${r.verdict.pass ? 'PASS' : 'FAIL'}`,
    ...r.verdict.reasons.map((x) => `  - ${x}`),
    `coverage final ${formatMetricValue('ratio', r.summary.coverage.final)}, lowest ${formatMetricValue('ratio', r.summary.coverage.min)}`,
    ...r.diagnosis.map((d) => `diagnosis: ${d}`),
  ].join('\n');
}
