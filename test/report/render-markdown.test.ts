import t from 'tap';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { loadComparison, loadResult } from '../helpers/report-fixtures.js';

/** The rows of the first table after a heading. */
function tableAfter(md: string, heading: string): string[][] {
  const start = md.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no heading ${heading}`);
  const lines = md.slice(start).split('\n').slice(2);
  const firstRow = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const l of lines.slice(firstRow)) {
    if (!l.startsWith('|')) break;
    rows.push(l.slice(2, -2).split(/(?<!\\) \| /));
  }
  return rows.slice(2); // drop header and separator
}

t.test('passing run: verdict first, facts, nodes, thresholds', async (t) => {
  const md = renderMarkdown(loadResult('result-pass-direct'));
  const lines = md.split('\n');
  t.equal(lines[0], '# pollfleet: direct-3-nodes (direct)');
  t.equal(lines[2], '**Verdict: ✅ PASS**', 'verdict right after the title');
  t.match(md, /\| \*\*Tentacles\*\* \| 6 \|/);
  t.match(md, /- shortened: pollingQueueWaitMs 5000 \(real 30000\)/);
  const nodes = tableAfter(md, '## Nodes');
  t.equal(nodes.length, 3);
  t.same(nodes[1], ['node2', '`127.0.0.1:10944`', '6 / 6', '6', '14 ms', '61 ms', '64 ms', '18', '18', '0', '0', '100 %', '100 %']);
  const th = tableAfter(md, '## Thresholds');
  t.equal(th.length, 7);
  t.ok(th.every((r) => r[4] === '✅ pass'));
  t.same(th[1]!.slice(2, 4), ['58 ms', '< 5 s']);
  t.notMatch(md, /## Failover/);
  t.match(md, /## Diagnosis\n\nNothing to report\./);
});

t.test('failing single-address run: reasons, never-polled nodes, diagnosis', async (t) => {
  const md = renderMarkdown(loadResult('result-fail-single-address'));
  t.match(md, /\*\*Verdict: ❌ FAIL\*\*\n\n- coverage\.min was 33\.3 %, expected >= 100 %\n- requests\.expired was 24, expected == 0\n/);
  t.match(md, /nodes\.node2\.connectedTentacles \(from 'nodes\.\\\*\.connectedTentacles == fleet'\) was 0, expected == 6 \(fleet\)/);
  t.match(md, /\*\*Never polled: node2, node3\.\*\*/);
  const nodes = tableAfter(md, '## Nodes');
  t.same(nodes[2], ['node3', '`127.0.0.1:10943`', '0 / 6', '**0 (never polled)**', '—', '—', '—', '18', '0', '**12**', '0', '0 %', '0 %']);
  t.match(md, /## Diagnosis\n\n- node2 and node3 were never polled: all 6 tentacles reach the cluster/);
  const th = tableAfter(md, '## Thresholds');
  t.same(th.filter((r) => r[4] === '❌ **fail**').length, 5);
  t.same(th[4]!.slice(0, 4), ['`nodes.*.connectedTentacles == fleet`', '`nodes.node2.connectedTentacles`', '0', '== 6 (fleet)']);
  t.match(md, /\| `tls\.handshake-failed` \| 2 \|/);
});

t.test('fault run: failover block with story, detection and recovery', async (t) => {
  const md = renderMarkdown(loadResult('result-fault'));
  t.match(md, /## Failover\n\n### crash@node2: ✅ recovered\n\n> node2 crashed at 0:20 for 15 s/);
  t.match(md, /\| \*\*Action\*\* \| crash on `node2`, 0:20 to 0:35 \(15 s\) \|/);
  t.match(md, /\| \*\*Detection p50 \/ p99 \/ max\*\* \| 2 ms \/ 8 ms \/ 8 ms \|/);
  t.match(md, /\| \*\*Recovery p50 \/ p99 \/ max\*\* \| 6\.2 s \/ 11\.8 s \/ 11\.8 s \|/);
  t.match(md, /\| \*\*Time to full coverage\*\* \| 12 s \|/);
  t.match(md, /- shortened: backoff\.maxMs 10000/);
});

t.test('comparison: one row per route, then each run', async (t) => {
  const md = renderMarkdown(loadComparison());
  t.match(md, /^# pollfleet comparison: compare-routes\n/);
  t.match(md, /3 routes compared, .* Every route behaved as expected\./);
  const tableLines = md.split('\n').filter((l) => /^\| (direct|nlb-unique-port|alb)/.test(l));
  t.equal(tableLines.length, 3);
  const cells = tableLines.map((l) => l.slice(2, -2).split(/(?<!\\) \| /));
  t.same(cells.map((c) => c[1]), ['✅ PASS', '✅ PASS', '❌ FAIL']);
  t.same(cells[2]!.slice(2, 11), ['as expected (fail)', '33.3 %', '33.3 %', 'node2, node3', '21 ms', '70 ms', '24', '0', '2']);
  t.same(cells[1]!.slice(6, 8), ['16 ms', '66 ms']);
  t.match(cells[2]![11], /never polled/);
  t.equal(md.match(/^## pollfleet: compare-routes \(/gm)?.length, 3, 'each run has its section');
});

t.test('text from the Result cannot break the table or inject HTML', async (t) => {
  const r = loadResult('result-pass-direct');
  r.nodes[0]!.name = 'evil|<script>x</script>*';
  r.diagnosis = ['a | b <img src=x> `c`'];
  const md = renderMarkdown(r);
  t.notMatch(md, /<script>/);
  t.notMatch(md, /<img/);
  const nodes = tableAfter(md, '## Nodes');
  t.equal(nodes[0]!.length, 13, 'pipe escaped: still 13 cells');
});
