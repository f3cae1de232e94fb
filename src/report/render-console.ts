import Table from 'cli-table3';
import { formatCount, formatMs, formatPct, NOT_MEASURED } from '../core/format.js';
import type { ApiLoadResult, Comparison, HarnessProcess, HarnessResult, Result } from '../result/result.js';
import { pickupHeadroom, taskCountsLine } from './pickup-headroom.js';
import { deviationsOf } from './deviations.js';

export interface ConsoleOptions {
  /** Terminal colours (the CLI decides: TTY and no NO_COLOR). */
  color?: boolean;
  /** Wrap width for the comparison's diagnosis column. */
  width?: number;
}

const paint = (on: boolean | undefined, code: number, s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);

function verdictWord(pass: boolean, o: ConsoleOptions): string {
  return pass ? paint(o.color, 32, 'PASS') : paint(o.color, 31, 'FAIL');
}

function tableStyle(o: ConsoleOptions) {
  return { head: o.color ? ['cyan'] : [], border: o.color ? ['grey'] : [] };
}

/** The per-node table and verdict of one run, as the console shows it at the end. */
export function renderConsoleResult(r: Result, o: ConsoleOptions = {}): string {
  const s = r.summary;
  const lines: string[] = [];
  lines.push(
    `${r.name}: route ${r.route}, queue ${r.queue}${r.balancer ? `, via ${r.balancer}` : ''}, ${s.tentacles} tentacles x ${s.nodes} nodes, ${formatMs(r.durationMs)}${r.interrupted ? ' (INTERRUPTED)' : ''}`,
  );
  if (r.shard) lines.push(`shard ${r.shard.index}/${r.shard.count}: tentacles ${r.shard.firstTentacle + 1}-${r.shard.firstTentacle + r.shard.tentacles} of ${r.shard.totalTentacles} (merge the shards with \`pollfleet merge\`)`);
  if (r.merged) lines.push(`merged from ${r.merged.shards} shards`);
  if (r.shortened.length) lines.push(`shortened timings (not the real defaults): ${r.shortened.join(', ')}`);
  for (const d of deviationsOf(r)) lines.push(`deviation from a real node: ${d}`);
  const t = new Table({
    head: ['node', 'address', 'connected', 'polled by', 'pickup p50', 'pickup p99', 'pickup max', 'queued', 'expired', 'lost', 'coverage'],
    style: tableStyle(o),
  });
  for (const n of r.nodes) {
    t.push([
      n.name,
      n.address,
      n.connectedTentacles === null ? NOT_MEASURED : `${n.connectedTentacles}/${s.tentacles}`,
      n.polledBy === null ? NOT_MEASURED : `${n.polledBy}/${s.tentacles}`,
      formatMs(n.pickupMs?.p50 ?? null),
      formatMs(n.pickupMs?.p99 ?? null),
      formatMs(n.pickupMs?.max ?? null),
      formatCount(n.requests?.queued ?? null),
      n.requests ? (n.requests.expired ? paint(o.color, 31, String(n.requests.expired)) : '0') : NOT_MEASURED,
      n.requests ? (n.requests.lostAfterCollection ? paint(o.color, 31, String(n.requests.lostAfterCollection)) : '0') : NOT_MEASURED,
      formatPct(n.coverage.final),
    ]);
  }
  lines.push(t.toString());
  const hs = s.handshakeMs;
  lines.push(
    `coverage final ${formatPct(s.coverage.final)}, min ${formatPct(s.coverage.min)}, mean ${formatPct(s.coverage.mean)} | ` +
      `pickup p50 ${formatMs(s.pickupMs?.p50 ?? null)} p99 ${formatMs(s.pickupMs?.p99 ?? null)} | ` +
      `TLS handshake p50 ${formatMs(hs.tls.p50)} p99 ${formatMs(hs.tls.p99)} | polls ${formatCount(s.polls)} | reconnects ${formatCount(s.reconnects)}` +
      (s.registrationMs.count ? ` | registration p50 ${formatMs(s.registrationMs.p50)}` : ''),
  );
  const health = healthChecksLine(r);
  if (health) lines.push(health);
  const throttled = registrationThrottleLine(r);
  if (throttled) lines.push(throttled);
  const retried = registrationRetryLine(r);
  if (retried) lines.push(retried);
  const headroom = pickupHeadroom(s);
  if (headroom) lines.push(headroom);
  const tasks = taskCountsLine(s);
  if (tasks) lines.push(tasks);
  const errs = Object.entries(s.errors);
  if (errs.length) lines.push(`errors: ${errs.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (r.faults.length) lines.push(renderFailover(r, o));
  if (r.apiLoad) lines.push(`REST API load: ${apiLoadLine(r.apiLoad)}`);
  if (r.harness) lines.push(`harness: ${harnessLine(r.harness)}${r.harness.saturated ? ` ${paint(o.color, 33, 'SATURATED')}` : ''}`);
  for (const d of r.diagnosis) lines.push(`diagnosis: ${d}`);
  lines.push(`verdict: ${verdictWord(r.verdict.pass, o)} -- ${r.verdict.reasons.length ? r.verdict.reasons.join('; ') : passSummary(r)}`);
  return lines.join('\n') + '\n';
}

/**
 * "registration throttled 12 times, 41 s waited (HTTP 429 with Retry-After: the server
 * rate-limits its REST API; not a failure)"; null when no registration was throttled.
 */
export function registrationThrottleLine(r: Result): string | null {
  const n = r.summary.registrationMs.throttled ?? 0;
  if (n === 0) return null;
  const waited = Math.round((r.summary.registrationMs.throttledWaitMs ?? 0) / 1000);
  return `registration throttled ${formatCount(n)} time${n === 1 ? '' : 's'}, ${waited} s waited ` +
    '(HTTP 429 with Retry-After: the server rate-limits its REST API; waited out, not a failure)';
}

/**
 * "registration: 2 lost answers tried again, 1 machine adopted (...)" -- synthetic registrations
 * whose answer never came (connection closed or timed out); null when there were none.
 */
export function registrationRetryLine(r: Result): string | null {
  const n = r.summary.registrationMs.lostAnswerRetries ?? 0;
  if (n === 0) return null;
  const adopted = r.summary.registrationMs.adopted ?? 0;
  return `registration: ${formatCount(n)} lost answer${n === 1 ? '' : 's'} tried again, ${formatCount(adopted)} machine${adopted === 1 ? '' : 's'} adopted ` +
    '(the REST API closed the connection or timed out without an HTTP answer; the retry looked the name up first, so no machine was created twice)';
}

/**
 * "health checks: 3 tasks (Success 2, Executing 1); node1: 2 tasks, first request after p50 1.2 s
 * p99 2.0 s; arrived: IScriptServiceV2.StartScript 4, ..." -- external.healthChecks; null without.
 */
export function healthChecksLine(r: Result): string | null {
  const h = r.healthChecks;
  if (!h) return null;
  const states = Object.entries(h.states).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const nodes = Object.entries(h.perNode).map(([node, p]) =>
    `${node}: ${p.tasks} task${p.tasks === 1 ? '' : 's'}, first request after p50 ${formatMs(p.firstRequestMs.p50)} p99 ${formatMs(p.firstRequestMs.p99)}${p.withoutRequest ? `, ${p.withoutRequest} without a request reaching a machine` : ''}`);
  const seen = Object.entries(h.requestsSeen).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing';
  return `health checks (every ${formatMs(h.everyMs)}): ${h.tasks} task${h.tasks === 1 ? '' : 's'} queued for the synthetic machines, final states as the server gave them: ${states}` +
    (nodes.length ? `; ${nodes.join('; ')}` : '') +
    `; arrived at the synthetic tentacles: ${seen}` +
    (h.errors.length ? `; errors: ${h.errors.join('; ')}` : '') +
    ' (what a real server sends in a health check, and whether it accepts the synthetic answers, is not verified here)';
}

/** The failover block: one paragraph per fault in plain words, with its figures and verdict. */
export function renderFailover(r: Result, o: ConsoleOptions = {}): string {
  const lines = [`failover (fault times from run start; backoff ${r.faults[0]?.backoff ?? 'faithful'}):`];
  for (const f of r.faults) {
    lines.push(`  ${verdictWord(f.pass, o)} ${f.name}: ${f.story}`);
    lines.push(
      `       affected ${formatCount(f.affectedPairs)} pairs | detection p50 ${formatMs(f.detectionMs.p50)} p99 ${formatMs(f.detectionMs.p99)} max ${formatMs(f.detectionMs.max)} | ` +
        `recovery p50 ${formatMs(f.recoveryMs.p50)} p99 ${formatMs(f.recoveryMs.p99)} max ${formatMs(f.recoveryMs.max)} | full coverage after ${formatMs(f.timeToFullCoverageMs)} | ` +
        `queued ${formatCount(f.queuedDuringFault)}, expired ${formatCount(f.expired)}, lost after collection ${formatCount(f.lostAfterCollection ?? 0)} | reconnect attempts ${formatCount(f.reconnectAttempts)}, peak ${formatCount(f.peakHandshakesPerSec)} handshakes/s`,
    );
    for (const reason of f.reasons) lines.push(`       ${paint(o.color, 31, reason)}`);
  }
  return lines.join('\n');
}

/** "1,234 req/s, p50 3 ms, p99 12 ms, 2xx 100 %, spread node1 33 % / node2 34 % / node3 33 %". */
export function apiLoadLine(a: ApiLoadResult): string {
  const total = Object.values(a.statusCounts).reduce((x, y) => x + y, 0);
  const ok = Object.entries(a.statusCounts).filter(([k]) => k.startsWith('2')).reduce((x, [, v]) => x + v, 0);
  const spread = a.perNode
    ? Object.entries(a.perNode).sort(([x], [y]) => x.localeCompare(y)).map(([n, c]) => `${n} ${formatPct(c / Math.max(1, a.requests))}`).join(' / ')
    : 'per-node spread unknown';
  return (
    `GET ${a.path} at ${a.url}: ${formatCount(a.requestsPerSec)} req/s over ${a.connections} connections, ` +
    `p50 ${formatMs(a.latencyMs.p50)}, p99 ${formatMs(a.latencyMs.p99)}, 2xx ${formatPct(total ? ok / total : 0)}` +
    `${a.errors ? `, ${a.errors} errors` : ''}, spread ${spread}`
  );
}

/** "fleet loop delay p50 10 ms, p99 12 ms, max 31 ms, CPU 35 % of one core (18 % of the machine)". */
export function harnessProcessLine(p: HarnessProcess): string {
  const d = p.loopDelayMs;
  return `loop delay p50 ${formatMs(d.p50)}, p99 ${formatMs(d.p99)}, max ${formatMs(d.max)}, CPU ${formatPct(p.cpuShare)} of one core (${formatPct(p.cpuCores)} of the machine)`;
}

/** The harness self-check in one line: the fleet's figures, then each node's when reported. */
export function harnessLine(h: HarnessResult): string {
  const nodes = Object.entries(h.nodes ?? {}).map(([name, p]) => `; ${name} ${harnessProcessLine(p)}`);
  const threads = h.workers?.length ? ` (main thread + ${h.workers.length} worker threads: each loop figure the worst of them)` : '';
  const d = h.fleet.steadyLoopDelayMs;
  const held = d ? `, while held p50 ${formatMs(d.p50)}, p99 ${formatMs(d.p99)}, max ${formatMs(d.max)}` : '';
  return `fleet${threads} ${harnessProcessLine(h.fleet)}${held}${nodes.join('')}`;
}

function wrap(text: string, width: number): string {
  const words = text.split(' ');
  const out: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      out.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(line);
  return out.join('\n');
}

/** What a passing run showed, stated from its figures (never more than they say). */
function passSummary(r: Result): string {
  const s = r.summary;
  const expired = s.requests?.expired ?? null;
  const facts = [
    `${r.thresholds.length} threshold${r.thresholds.length === 1 ? '' : 's'} passed`,
    `coverage ${formatPct(s.coverage.final)} at the end`,
    expired === null ? 'expired requests not measured' : expired === 0 ? 'no work expired' : `${expired} request${expired === 1 ? '' : 's'} expired (allowed by this scenario's thresholds)`,
  ];
  const lost = s.requests?.lostAfterCollection ?? 0;
  if (lost > 0) facts.push(`${lost} request${lost === 1 ? '' : 's'} lost after collection`);
  return facts.join(', ');
}

/** One row per route: the side-by-side answer to "which network design gets every node polled?". */
export function renderConsoleComparison(c: Comparison, o: ConsoleOptions = {}): string {
  const width = Math.max(30, (o.width ?? 160) - 110);
  const t = new Table({
    head: ['route', 'queue', 'verdict', 'expected', 'coverage', 'never polled', 'pickup p50', 'pickup p99', 'expired', 'lost', 'TLS failures', 'diagnosis'],
    style: tableStyle(o),
    wordWrap: false,
  });
  for (const run of c.runs) {
    const s = run.result.summary;
    const tlsFailures = Object.entries(s.errors).filter(([k]) => k.startsWith('tls.') || k === 'protocol.http-response').reduce((a, [, v]) => a + v, 0);
    t.push([
      run.name,
      run.queue,
      verdictWord(run.pass, o),
      run.expectedPass === null ? '' : run.expectedPass === run.pass ? 'as expected' : paint(o.color, 33, 'UNEXPECTED'),
      formatPct(s.coverage.final),
      s.nodesNeverPolled.length ? s.nodesNeverPolled.join(', ') : '-',
      formatMs(s.pickupMs?.p50 ?? null),
      formatMs(s.pickupMs?.p99 ?? null),
      formatCount(s.requests?.expired ?? null),
      formatCount(s.requests ? (s.requests.lostAfterCollection ?? 0) : null),
      String(tlsFailures),
      wrap(run.diagnosis[0] ?? (run.pass ? 'every node polled promptly' : run.result.verdict.reasons[0] ?? ''), width),
    ]);
  }
  const shortened = [...new Set(c.runs.flatMap((r) => r.result.shortened))];
  const lines = [`${c.name}: ${c.runs.length} routes compared`, t.toString()];
  for (const run of c.runs) {
    const headroom = pickupHeadroom(run.result.summary);
    if (headroom) lines.push(`${run.name}: ${headroom}`);
  }
  for (const run of c.runs) if (run.result.apiLoad) lines.push(`REST API load (${run.name}): ${apiLoadLine(run.result.apiLoad)}`);
  for (const run of c.runs) if (run.result.faults.length) lines.push(`${run.name} -- ${renderFailover(run.result, o)}`);
  if (shortened.length) lines.push(`shortened timings (not the real defaults): ${shortened.join(', ')}`);
  for (const run of c.runs) for (const d of deviationsOf(run.result)) lines.push(`${run.name} -- deviation from a real node: ${d}`);
  return lines.join('\n') + '\n';
}
