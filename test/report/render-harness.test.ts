/**
 * The harness figures in every report: a Result with the block shows them; one without it
 * renders exactly as before (the golden files cover that byte for byte).
 */
import t from 'tap';
import { harnessResult } from '../../src/metrics/harness-monitor.js';
import { renderConsoleResult } from '../../src/report/render-console.js';
import { renderHtml } from '../../src/report/render-html.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { renderPrometheus } from '../../src/report/render-prometheus.js';
import type { Result } from '../../src/result/result.js';
import { loadResult } from '../helpers/report-fixtures.js';

const LAGGING = { loopDelayMs: { p50: 10.4, p99: 180, max: 312 }, cpuShare: 0.5, cpuCores: 0.25 };
const NODE = { loopDelayMs: { p50: 10.1, p99: 11, max: 15 }, cpuShare: 0.1, cpuCores: 0.05 };

function withHarness(): Result {
  const r = loadResult('result-pass-direct');
  return { ...r, harness: harnessResult(LAGGING, { node1: NODE }) };
}

t.test('console: one harness line, saturated marked', async (t) => {
  const text = renderConsoleResult(withHarness());
  t.match(text, /^harness: fleet loop delay p50 10\.4 ms, p99 180 ms, max 312 ms, CPU 50 % of one core \(25 % of the machine\); node1 loop delay .* SATURATED$/m);
  t.notMatch(renderConsoleResult(loadResult('result-pass-direct')), /harness/);
});

t.test('markdown: a Harness section with one row per process', async (t) => {
  const text = renderMarkdown(withHarness());
  t.match(text, /## Harness\n\n\*\*Saturated:\*\* the fleet's own event loop lagged 180 ms at p99/);
  t.match(text, /\| fleet \| 10\.4 ms \| 180 ms \| 312 ms \| 50 % \| 25 % \|/);
  t.match(text, /\| node1 \| 10\.1 ms \| 11 ms \| 15 ms \|/);
  t.ok(text.indexOf('## Harness') < text.indexOf('## Thresholds'), 'before the thresholds');
  t.notMatch(renderMarkdown(loadResult('result-pass-direct')), /Harness/);
});

t.test('html: a Harness fact in the run section', async (t) => {
  const text = renderHtml(withHarness());
  t.match(text, /<dt>Harness<\/dt><dd>fleet loop delay p50 10\.4 ms, p99 180 ms.* saturated \(the fleet&#39;s own event loop lagged 180 ms at p99/);
});

t.test('prometheus: harness gauges, fleet unlabelled and nodes by name', async (t) => {
  const text = renderPrometheus(withHarness());
  t.match(text, /# TYPE pollfleet_harness_loop_delay_p99_ms gauge/);
  t.match(text, /^pollfleet_harness_loop_delay_p99_ms\{scenario="[^"]+",route="[^"]+"\} 180$/m);
  t.match(text, /^pollfleet_harness_loop_delay_max_ms\{scenario="[^"]+",route="[^"]+",node="node1"\} 15$/m);
  t.match(text, /^pollfleet_harness_cpu_share\{scenario="[^"]+",route="[^"]+"\} 0\.5$/m);
  t.match(text, /^pollfleet_harness_saturated\{scenario="[^"]+",route="[^"]+"\} 1$/m);
  t.notMatch(renderPrometheus(loadResult('result-pass-direct')), /harness/);
});

t.test('the loop while held, when measured: a console clause, a markdown row and two gauges', async (t) => {
  const r = loadResult('result-pass-direct');
  const held = { ...r, harness: harnessResult({ ...LAGGING, steadyLoopDelayMs: { p50: 1.2, p99: 7.5, max: 40 } }, null) };
  t.match(renderConsoleResult(held), /^harness: fleet loop delay p50 10\.4 ms, p99 180 ms, max 312 ms, CPU .*, while held p50 1\.2 ms, p99 7\.5 ms, max 40 ms/m);
  t.match(renderMarkdown(held), /\| fleet \| 10\.4 ms \| 180 ms \| 312 ms \| 50 % \| 25 % \|\n\| fleet, while held \(after the ramp\) \| 1\.2 ms \| 7\.5 ms \| 40 ms \|/);
  const prom = renderPrometheus(held);
  t.match(prom, /^pollfleet_harness_steady_loop_delay_p99_ms\{scenario="[^"]+",route="[^"]+"\} 7\.5$/m);
  t.match(prom, /^pollfleet_harness_steady_loop_delay_max_ms\{scenario="[^"]+",route="[^"]+"\} 40$/m);
  t.notMatch(renderMarkdown(withHarness()), /while held/, 'no row without the figure');
  t.notMatch(renderPrometheus(withHarness()), /steady_loop/, 'no gauges without the figure');
});
