import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, spawnCli } from '../../helpers/run.js';

/**
 * scenarios/connection-count.yaml as users run it: 20 concurrent tasks per tentacle with a few
 * large uploads over a thin link. One connection per node: requests wait behind uploads and
 * expire (FAIL); five: they do not (PASS). The reports state the headroom.
 */
t.test('connection-count: 1 connection FAIL (expired), 5 connections PASS with headroom', async (t) => {
  const out = t.testdir({});
  const cli = spawnCli(['compare', join(PROJECT_ROOT, 'scenarios', 'connection-count.yaml'), '--out', out]);
  const { code } = await cli.exited(300_000);
  t.equal(code, 0, `every variant behaved as expected (stderr: ${cli.stderr().slice(-500)})`);
  const c = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8')) as {
    runs: { name: string; pass: boolean; result: { summary: { requests: { expired: number }; pickupLimitMs?: number; tasks?: Record<string, Record<string, number>> } } }[];
  };
  const [one, five] = c.runs;
  t.equal(one!.name, 'connections-1');
  t.equal(one!.pass, false, 'one connection fails');
  t.ok(one!.result.summary.requests.expired > 0, `requests expired with one connection (${one!.result.summary.requests.expired})`);
  t.equal(five!.pass, true, 'five connections pass');
  t.equal(five!.result.summary.requests.expired, 0, 'nothing expired with five');
  t.equal(five!.result.summary.pickupLimitMs, 10_000, 'the limit is the scenario queue timeout');
  t.ok((five!.result.summary.tasks?.['upload']?.['Success'] ?? 0) > 0, 'uploads ran and arrived intact');
  const stdout = cli.stdout();
  t.match(stdout, /connections-1: p99 pickup .* of the 10 s limit, and \d+ requests? not collected within it expired: no headroom/);
  t.match(stdout, /connections-5: p99 pickup .* of the 10 s limit: \d+ % headroom/);
  t.match(readFileSync(join(out, 'report.md'), 'utf8'), /P99 pickup .* of the 10 s limit: \d+ % headroom/);
});
