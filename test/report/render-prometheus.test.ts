import t from 'tap';
import { escapeLabelValue, renderPrometheus } from '../../src/report/render-prometheus.js';
import { loadComparison, loadResult } from '../helpers/report-fixtures.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/y;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|\+Inf|-Inf))$/;

/** Parse text exposition format 0.0.4 strictly; throws on anything malformed. */
function parseExposition(text: string) {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: Sample[] = [];
  const series = new Set<string>();
  if (!text.endsWith('\n')) throw new Error('must end with a line feed');
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP (\S+) (.*)$/.exec(line))) {
      if (!METRIC_NAME.test(m[1]!)) throw new Error(`bad metric name in HELP: ${line}`);
      if (help.has(m[1]!)) throw new Error(`second HELP for ${m[1]}`);
      help.set(m[1]!, m[2]!);
    } else if ((m = /^# TYPE (\S+) (counter|gauge|summary|histogram|untyped)$/.exec(line))) {
      if (type.has(m[1]!)) throw new Error(`second TYPE for ${m[1]}`);
      if (samples.some((s) => s.name === m![1])) throw new Error(`TYPE after samples for ${m[1]}`);
      type.set(m[1]!, m[2]!);
    } else if ((m = SAMPLE.exec(line))) {
      const labels: Record<string, string> = {};
      const body = m[2] ?? '';
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < body.length) {
        const start = LABEL.lastIndex;
        const l = LABEL.exec(body);
        if (!l || l.index !== start) throw new Error(`bad labels: ${line}`);
        if (l[1]! in labels) throw new Error(`duplicate label ${l[1]}: ${line}`);
        labels[l[1]!] = l[2]!.replace(/\\(n|"|\\)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
      if (!type.has(m[1]!) || !help.has(m[1]!)) throw new Error(`sample before HELP/TYPE: ${line}`);
      const key = `${m[1]}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
      if (series.has(key)) throw new Error(`duplicate series ${key}`);
      series.add(key);
      samples.push({ name: m[1]!, labels, value: Number(m[3]) });
    } else {
      throw new Error(`not exposition format: ${JSON.stringify(line)}`);
    }
  }
  return { help, type, samples };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

t.test('failing run: every family has HELP/TYPE, valid samples, the right numbers', async (t) => {
  const r = loadResult('result-fail-single-address');
  const { samples, type } = parseExposition(renderPrometheus(r));
  for (const s of samples) {
    t.equal(s.labels.scenario, 'alb-single-address');
    t.equal(s.labels.route, 'alb');
    t.ok(Number.isFinite(s.value), `${s.name} numeric`);
  }
  for (const name of [
    'pollfleet_coverage_ratio', 'pollfleet_coverage_min_ratio', 'pollfleet_node_connected_tentacles', 'pollfleet_pickup_seconds',
    'pollfleet_requests_queued_total', 'pollfleet_requests_expired_total', 'pollfleet_requests_collected_total', 'pollfleet_reconnects_total',
    'pollfleet_errors_total', 'pollfleet_check_success', 'pollfleet_threshold_pass', 'pollfleet_last_run_timestamp_seconds', 'pollfleet_run_duration_seconds',
  ]) t.ok(type.has(name), `${name} present`);
  t.equal(type.get('pollfleet_requests_expired_total'), 'counter');
  t.equal(value(samples, 'pollfleet_check_success'), 0);
  t.equal(value(samples, 'pollfleet_coverage_min_ratio')!.toFixed(4), '0.3333');
  t.equal(value(samples, 'pollfleet_node_connected_tentacles', { node: 'node2' }), 0, 'a measured 0 is written');
  t.equal(value(samples, 'pollfleet_requests_expired_total', { node: 'node3' }), 12);
  t.equal(value(samples, 'pollfleet_pickup_seconds', { node: 'node1', quantile: '0.99' }), 0.07);
  t.equal(samples.filter((s) => s.name === 'pollfleet_pickup_seconds' && s.labels.node === 'node2').length, 0, 'unmeasured pickup left out, not 0');
  t.equal(value(samples, 'pollfleet_errors_total', { kind: 'tls.handshake-failed' }), 2);
  t.equal(value(samples, 'pollfleet_threshold_pass', { metric: 'nodes.node2.connectedTentacles' }), 0);
  t.equal(samples.filter((s) => s.name === 'pollfleet_threshold_pass').length, 7, 'one per expanded threshold, no duplicates');
  t.equal(value(samples, 'pollfleet_last_run_timestamp_seconds'), Date.parse('2025-05-01T11:00:30.000Z') / 1000);
  t.equal(value(samples, 'pollfleet_run_duration_seconds'), 30);
  t.notOk(type.has('pollfleet_fault_recovery_seconds'), 'no faults, no family');
});

t.test('fault run and passing run', async (t) => {
  const f = parseExposition(renderPrometheus(loadResult('result-fault'))).samples;
  t.equal(value(f, 'pollfleet_fault_recovery_seconds', { fault: 'crash@node2', quantile: '0.99' }), 11.8);
  t.equal(value(f, 'pollfleet_fault_recovery_seconds', { fault: 'crash@node2', quantile: '0.5' }), 6.2);
  t.equal(value(f, 'pollfleet_check_success'), 1);
  const p = parseExposition(renderPrometheus(loadResult('result-pass-direct'))).samples;
  t.notOk(p.some((s) => s.name === 'pollfleet_errors_total'), 'no errors, no samples');
  t.equal(value(p, 'pollfleet_coverage_ratio'), 1);
});

t.test('comparison: one series set per route, no duplicate series', async (t) => {
  const { samples, help } = parseExposition(renderPrometheus(loadComparison()));
  t.same([...new Set(samples.map((s) => s.labels.route))], ['direct', 'nlb-unique-port', 'alb']);
  t.same(samples.filter((s) => s.name === 'pollfleet_check_success').map((s) => s.value), [1, 1, 0]);
  t.equal(help.size, new Set(samples.map((s) => s.name)).size, 'one HELP per family');
});

t.test('label values and nulls', async (t) => {
  t.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const r = loadResult('result-pass-direct');
  r.name = 'with "quotes"\\ and\nnewline';
  r.nodes[0]!.connectedTentacles = null;
  r.nodes[0]!.pickupMs = null;
  r.summary.requests = null;
  r.nodes[0]!.requests = null;
  const { samples } = parseExposition(renderPrometheus(r));
  t.equal(samples[0]!.labels.scenario, 'with "quotes"\\ and\nnewline', 'round-trips through escaping');
  t.notOk(samples.some((s) => s.name === 'pollfleet_node_connected_tentacles' && s.labels.node === 'node1'), 'null connected omitted');
  t.notOk(samples.some((s) => s.name === 'pollfleet_requests_queued_total' && s.labels.node === 'node1'), 'null requests omitted');
  t.equal(value(samples, 'pollfleet_node_connected_tentacles', { node: 'node2' }), 6);
});
