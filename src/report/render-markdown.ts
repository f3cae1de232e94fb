import type { Comparison, FaultResult, HarnessProcess, HarnessResult, NodeResult, Quantiles, Result } from '../result/result.js';
import { formatClock, formatCount, formatMs, formatPct, formatTimestamp, NOT_MEASURED, plural } from '../core/format.js';
import { formatMetricValue, metricUnit } from '../result/metric-catalog.js';
import { healthChecksLine, registrationRetryLine, registrationThrottleLine } from './render-console.js';
import { pickupHeadroom, taskCountsLine } from './pickup-headroom.js';
import { deviationsOf } from './deviations.js';

/**
 * report.md: the run as a document a person reads top to bottom -- verdict first, then
 * what ran, per-node figures, failovers, diagnosis and thresholds. Pure: Result in, text out.
 */

export interface MarkdownOptions {
  /** Heading level of the run's title (comparisons nest runs one level deeper). */
  headingLevel?: number;
}

export function renderMarkdown(input: Result | Comparison, options: MarkdownOptions = {}): string {
  const text = isComparison(input) ? comparisonMarkdown(input) : resultMarkdown(input, options.headingLevel ?? 1);
  return `${text.replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

export function isComparison(input: Result | Comparison): input is Comparison {
  return (input as Comparison).schema === 'pollfleet.comparison/v1' || Array.isArray((input as Comparison).runs);
}

/** Escape text for Markdown (inline). */
export function mdText(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/([`*_[\]|])/g, '\\$1')
    .replace(/<(?=[A-Za-z/!?])/g, '&lt;')
    .replace(/\r?\n/g, ' ');
}

/** Inline code that survives inside a table cell. */
function mdCode(value: string): string {
  const text = value.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${fence === '``' ? ` ${text} ` : text}${fence}`;
}

function table(header: string[], rows: string[][], align?: Array<'l' | 'r'>): string {
  const sep = header.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function heading(level: number, text: string): string {
  return `${'#'.repeat(Math.min(6, Math.max(1, level)))} ${text}`;
}

function verdictWord(pass: boolean): string {
  return pass ? '✅ PASS' : '❌ FAIL';
}

function resultMarkdown(r: Result, level: number): string {
  const out: string[] = [];
  out.push(heading(level, `pollfleet: ${mdText(r.name)} (${mdText(r.route)})`));
  out.push(`**Verdict: ${verdictWord(r.verdict.pass)}**${r.interrupted ? ' (interrupted run)' : ''}`);
  if (r.verdict.reasons.length > 0) out.push(r.verdict.reasons.map((x) => `- ${mdText(x)}`).join('\n'));
  else out.push('Every threshold passed and every node was polled.');

  out.push(heading(level + 1, 'Run'));
  const facts: Array<[string, string]> = [
    ['Route', mdText(r.route) + (r.balancer ? ` (balancer: ${mdText(r.balancer)})` : '')],
    ['Queue', mdText(r.queue)],
    ['Target', mdText(r.target)],
    ['Tentacles', formatCount(r.summary.tentacles)],
    ...(r.shard ? [['Shard', `${r.shard.index} of ${r.shard.count}: tentacles ${r.shard.firstTentacle + 1}-${r.shard.firstTentacle + r.shard.tentacles} of ${formatCount(r.shard.totalTentacles)}`] as [string, string]] : []),
    ...(r.merged ? [['Merged', `from ${r.merged.shards} shards (machine and scenario: the first shard's)`] as [string, string]] : []),
    ['Nodes', formatCount(r.summary.nodes)],
    ['Pairs covered at end', `${formatCount(r.summary.coveredPairs)} of ${formatCount(r.summary.pairs)}`],
    ['Duration', `${formatMs(r.durationMs)}${r.interrupted ? ' (interrupted)' : ''}`],
    ['Started', formatTimestamp(r.startedAt)],
    ['Machine', `${mdText(r.machine.platform)}, ${r.machine.cpus} CPUs, ${r.machine.memoryGiB} GiB, Node ${mdText(r.machine.node)}`],
    ['pollfleet', mdText(r.tool.version)],
  ];
  out.push(table(['', ''], facts.map(([k, v]) => [`**${k}**`, v])));
  if (r.shortened.length > 0) {
    out.push(`Timeouts shortened for this run (real values in brackets):\n\n${r.shortened.map((s) => `- shortened: ${mdText(s)}`).join('\n')}`);
  }
  const deviations = deviationsOf(r);
  if (deviations.length > 0) out.push(`Deviations from a real node:\n\n${deviations.map((d) => `- deviation: ${mdText(d)}`).join('\n')}`);

  out.push(heading(level + 1, 'Coverage'));
  const c = r.summary.coverage;
  out.push(
    `Coverage final **${formatPct(c.final)}**, lowest ${formatPct(c.min)}, mean ${formatPct(c.mean)}. ` +
      `Pickup latency p50 ${q(r.summary.pickupMs, 'p50')}, p99 ${q(r.summary.pickupMs, 'p99')}, max ${q(r.summary.pickupMs, 'max')}. ` +
      `${plural(r.summary.polls, 'poll')}, ${plural(r.summary.reconnects, 'reconnect')}.` +
      (pickupHeadroom(r.summary) ? ` ${mdText(capitalise(pickupHeadroom(r.summary)!))}.` : '') +
      (taskCountsLine(r.summary) ? ` ${mdText(capitalise(taskCountsLine(r.summary)!))}.` : '') +
      (r.summary.nodesNeverPolled.length > 0 ? ` **Never polled: ${r.summary.nodesNeverPolled.map(mdText).join(', ')}.**` : ''),
  );

  out.push(heading(level + 1, 'Nodes'));
  out.push(
    table(
      ['Node', 'Address', 'Connected / fleet', 'Polled by', 'Pickup p50', 'p99', 'max', 'Queued', 'Collected', 'Expired', 'Lost after collection', 'Coverage min', 'Coverage final'],
      r.nodes.map((n) => nodeRow(n, r.summary.tentacles)),
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );

  if (r.faults.length > 0) {
    out.push(heading(level + 1, 'Failover'));
    for (const f of r.faults) out.push(faultBlock(f, level + 2));
  }

  out.push(heading(level + 1, 'Diagnosis'));
  out.push(r.diagnosis.length > 0 ? r.diagnosis.map((d) => `- ${mdText(d)}`).join('\n') : 'Nothing to report.');

  const errors = Object.entries(r.summary.errors).filter(([, n]) => n > 0);
  if (errors.length > 0) {
    out.push(heading(level + 1, 'Errors'));
    out.push(table(['Kind', 'Count'], errors.sort((a, b) => b[1] - a[1]).map(([k, n]) => [mdCode(k), formatCount(n)]), ['l', 'r']));
  }

  out.push(heading(level + 1, 'Handshakes'));
  const h = r.summary.handshakeMs;
  out.push(
    table(
      ['Step', 'Count', 'p50', 'p90', 'p99', 'max'],
      ([['TCP connect', h.tcp], ['TLS', h.tls], ['Identify (MX-SERVER)', h.identify], ['Registration', r.summary.registrationMs]] as Array<[string, Quantiles]>).map(
        ([name, x]) => [name, formatCount(x.count), q(x, 'p50'), q(x, 'p90'), q(x, 'p99'), q(x, 'max')],
      ),
      ['l', 'r', 'r', 'r', 'r', 'r'],
    ),
  );

  const throttled = registrationThrottleLine(r);
  if (throttled) out.push(throttled.charAt(0).toUpperCase() + throttled.slice(1) + '.');
  const retried = registrationRetryLine(r);
  if (retried) out.push(retried.charAt(0).toUpperCase() + retried.slice(1) + '.');
  const health = healthChecksLine(r);
  if (health) out.push(mdText(health.charAt(0).toUpperCase() + health.slice(1) + '.'));

  if (r.harness) out.push(heading(level + 1, 'Harness'), harnessBlock(r.harness));

  out.push(heading(level + 1, 'Thresholds'));
  if (r.thresholds.length === 0) out.push('No thresholds were set.');
  else {
    out.push(
      table(
        ['Expression', 'Metric', 'Actual', 'Expected', 'Pass'],
        r.thresholds.map((t) => [
          mdCode(t.expression),
          t.metric === t.expression.split(/\s*[<>=!]/)[0] ? '' : mdCode(t.metric),
          formatMetricValue(metricUnit(t.metric), t.actual),
          mdText(t.expected),
          t.pass ? '✅ pass' : '❌ **fail**',
        ]),
      ),
    );
  }
  return out.join('\n\n');
}

/** The harness self-check: can the fleet's timings be trusted? One row per process. */
function harnessBlock(h: HarnessResult): string {
  const row = (name: string, p: HarnessProcess) => [
    name,
    formatMs(p.loopDelayMs.p50),
    formatMs(p.loopDelayMs.p99),
    formatMs(p.loopDelayMs.max),
    formatPct(p.cpuShare),
    formatPct(p.cpuCores),
  ];
  // Fleet worker threads: each one's own loop (the fleet row is the worst thread's); CPU is only measured for the whole process.
  const workers = (h.workers ?? []).map((w) => [`fleet worker ${w.worker + 1}`, formatMs(w.loopDelayMs.p50), formatMs(w.loopDelayMs.p99), formatMs(w.loopDelayMs.max), NOT_MEASURED, NOT_MEASURED]);
  // The fleet's loop while held (after the ramp): the figure that says whether holding this many connections is within its means.
  const d = h.fleet.steadyLoopDelayMs;
  const held = d ? [['fleet, while held (after the ramp)', formatMs(d.p50), formatMs(d.p99), formatMs(d.max), NOT_MEASURED, NOT_MEASURED]] : [];
  const rows = [row(workers.length ? 'fleet (every thread)' : 'fleet', h.fleet), ...held, ...workers, ...Object.entries(h.nodes ?? {}).map(([n, p]) => row(mdText(n), p))];
  const verdict = h.saturated
    ? `**Saturated:** ${h.reasons.map(mdText).join('; ')} -- the fleet's timings cannot be trusted.`
    : "The fleet kept up: its timings can be trusted.";
  return `${verdict}\n\n${table(['Process', 'Loop delay p50', 'p99', 'max', 'CPU (one core)', 'CPU (machine)'], rows, ['l', 'r', 'r', 'r', 'r', 'r'])}`;
}

function q(x: Quantiles | null, key: 'p50' | 'p90' | 'p99' | 'max' | 'min' | 'mean'): string {
  return x === null ? NOT_MEASURED : formatMs(x[key]);
}

function nodeRow(n: NodeResult, fleet: number): string[] {
  const req = n.requests;
  const connected = n.connectedTentacles === null ? NOT_MEASURED : `${formatCount(n.connectedTentacles)} / ${formatCount(fleet)}`;
  const polledBy = n.polledBy === null ? NOT_MEASURED : n.polledBy === 0 ? '**0 (never polled)**' : formatCount(n.polledBy);
  const expired = req === null ? NOT_MEASURED : req.expired > 0 ? `**${formatCount(req.expired)}**` : '0';
  const lost = req === null ? NOT_MEASURED : req.lostAfterCollection > 0 ? `**${formatCount(req.lostAfterCollection)}**` : '0';
  return [
    mdText(n.name),
    mdCode(n.address),
    connected,
    polledBy,
    q(n.pickupMs, 'p50'),
    q(n.pickupMs, 'p99'),
    q(n.pickupMs, 'max'),
    req === null ? NOT_MEASURED : formatCount(req.queued),
    req === null ? NOT_MEASURED : formatCount(req.collected),
    expired,
    lost,
    formatPct(n.coverage.min),
    formatPct(n.coverage.final),
  ];
}

function faultBlock(f: FaultResult, level: number): string {
  const window = `${formatClock(f.atMs)}${f.forMs === null ? ' (permanent)' : ` to ${formatClock(f.atMs + f.forMs)} (${formatMs(f.forMs)})`}`;
  const lines = [
    heading(level, `${mdText(f.name)}: ${f.pass ? '✅ recovered' : '❌ failed'}`),
    `> ${mdText(f.story)}`,
    table(
      ['', ''],
      [
        ['Action', `${mdText(f.action)} on ${mdCode(f.target)}, ${window}`],
        ['Affected pairs', formatCount(f.affectedPairs)],
        ['Detection p50 / p99 / max', `${q(f.detectionMs, 'p50')} / ${q(f.detectionMs, 'p99')} / ${q(f.detectionMs, 'max')}`],
        ['Recovery p50 / p99 / max', `${q(f.recoveryMs, 'p50')} / ${q(f.recoveryMs, 'p99')} / ${q(f.recoveryMs, 'max')}`],
        ['Time to full coverage', f.timeToFullCoverageMs === null ? 'never within the run' : formatMs(f.timeToFullCoverageMs)],
        ['Queued during fault / expired', `${formatCount(f.queuedDuringFault)} / ${formatCount(f.expired)}`],
        ['Lost after collection', formatCount(f.lostAfterCollection ?? 0)],
        ['Reconnect attempts', formatCount(f.reconnectAttempts)],
        ['Peak handshakes', `${formatCount(f.peakHandshakesPerSec)}/s`],
        ['Back-off', f.backoff === 'shortened' ? 'shortened (real back-off is longer)' : 'faithful'],
      ].map(([k, v]) => [`**${k}**`, v!]),
    ),
  ];
  if (f.reasons.length > 0) lines.push(f.reasons.map((x) => `- ${mdText(x)}`).join('\n'));
  return lines.join('\n\n');
}

/** Errors of tls.* kinds: the handshake failures column of a comparison. */
export function handshakeFailures(r: Result): number {
  let n = 0;
  for (const [kind, count] of Object.entries(r.summary.errors)) if (kind.startsWith('tls.')) n += count;
  return n;
}

function comparisonMarkdown(c: Comparison): string {
  const out: string[] = [];
  const allAsExpected = c.runs.every((r) => r.expectedPass === null || r.expectedPass === r.pass);
  out.push(heading(1, `pollfleet comparison: ${mdText(c.name)}`));
  out.push(
    `${plural(c.runs.length, 'route')} compared, ${formatTimestamp(c.startedAt)} to ${formatTimestamp(c.finishedAt)}. ` +
      (allAsExpected ? 'Every route behaved as expected.' : '**Some routes did not behave as expected.**'),
  );
  out.push(
    table(
      ['Route', 'Verdict', 'Expected', 'Coverage min', 'Coverage final', 'Never polled', 'Pickup p50', 'Pickup p99', 'Expired', 'Lost after collection', 'Handshake failures', 'Diagnosis'],
      c.runs.map((run) => {
        const r = run.result;
        const expected = run.expectedPass === null ? NOT_MEASURED : run.expectedPass === run.pass ? `as expected (${run.expectedPass ? 'pass' : 'fail'})` : `**expected ${run.expectedPass ? 'pass' : 'fail'}**`;
        return [
          mdText(run.route) + (run.balancer ? ` (${mdText(run.balancer)})` : ''),
          verdictWord(run.pass),
          expected,
          formatPct(r.summary.coverage.min),
          formatPct(r.summary.coverage.final),
          r.summary.nodesNeverPolled.length === 0 ? 'none' : r.summary.nodesNeverPolled.map(mdText).join(', '),
          q(r.summary.pickupMs, 'p50'),
          q(r.summary.pickupMs, 'p99'),
          r.summary.requests === null ? NOT_MEASURED : formatCount(r.summary.requests.expired),
          r.summary.requests === null ? NOT_MEASURED : formatCount(r.summary.requests.lostAfterCollection ?? 0),
          formatCount(handshakeFailures(r)),
          run.diagnosis.length === 0 ? '' : run.diagnosis.map(mdText).join('<br>'),
        ];
      }),
      ['l', 'l', 'l', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
  );
  for (const run of c.runs) out.push(resultMarkdown(run.result, 2));
  return out.join('\n\n');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
