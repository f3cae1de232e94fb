import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineNames, startExternalCluster, writeExternalScenario } from '../../helpers/real-target.js';
import { spawnCli } from '../../helpers/run.js';

// Three shard processes against one standalone `pollfleet cluster`, merged: every pair of the
// whole fleet covered, the thresholds judged once on the merged Result. The scenario's
// `pairs >= 18` fails in every shard on its own (6 pairs each) and passes merged, so the exit
// codes show which Result was judged.
t.setTimeout(240_000);

const KEY_ENV = 'PF_SHARD_KEY';

interface ShardJson {
  pass: boolean;
  summary: { tentacles: number; pairs: number; coveredPairs: number };
}

t.test('three shards merge into one judged run', async (t) => {
  const dir = t.testdir();
  const { state } = await startExternalCluster(t, dir, 2);
  const file = writeExternalScenario(
    join(dir, 'sharded.yaml'),
    state,
    { apiKeyEnv: KEY_ENV, register: { environment: 'Test', ratePerSecond: 1, ledger: join(dir, 'ledger.json') } },
    { name: 'sharded', duration: '4s', fleet: { tentacles: 9, rampUp: '1s' }, thresholds: ['coverage.final >= 1', 'pairs >= 18'] },
  );
  const env = { [KEY_ENV]: state.apiKey };

  const plan = spawnCli(['run', file, '--shard', '2/3', '--plan'], { env });
  t.equal((await plan.exited(30_000)).code, 0, plan.stderr());
  t.match(plan.stdout(), /shard\s+2\/3: tentacles 4-6 of 9/);

  const shards = [1, 2, 3].map((i) => ({ i, out: join(dir, 'shards', `shard-${i}`), p: spawnCli(['run', file, '--shard', `${i}/3`, '-o', join(dir, 'shards', `shard-${i}`), '--json'], { env }) }));
  const codes = await Promise.all(shards.map((s) => s.p.exited(120_000)));
  for (const [k, s] of shards.entries()) {
    t.equal(codes[k]!.code, 1, `shard ${s.i} alone fails 'pairs >= 18' (stderr: ${s.p.stderr().slice(-500)})`);
    const j = JSON.parse(s.p.stdout()) as ShardJson;
    t.equal(j.summary.tentacles, 3, `shard ${s.i} ran its 3 tentacles`);
    t.equal(j.summary.coveredPairs, 6, `shard ${s.i} covered its 6 pairs`);
    const r = JSON.parse(readFileSync(join(s.out, 'result.json'), 'utf8')) as { shard: { index: number; firstTentacle: number } };
    t.same([r.shard.index, r.shard.firstTentacle], [s.i, (s.i - 1) * 3], `shard ${s.i} recorded its slice`);
    t.notOk(existsSync(join(dir, `ledger.shard-${s.i}-of-3.json`)), `shard ${s.i} cleaned up its own ledger`);
  }
  t.same((await machineNames(state)).filter((n) => n.startsWith('pollfleet-synthetic-')), [], 'every synthetic machine of every shard deleted');

  const merged = join(dir, 'merged');
  const m = spawnCli(['merge', join(dir, 'shards'), '--out', merged]);
  const { code } = await m.exited(60_000);
  t.equal(code, 0, `merged run passes (stderr: ${m.stderr()})`);
  t.match(m.stdout(), /merged 3 Results: 9 tentacles x 2 nodes/);
  const r = JSON.parse(readFileSync(join(merged, 'result.json'), 'utf8')) as {
    merged: { shards: number };
    summary: { tentacles: number; pairs: number; coveredPairs: number; coverage: { final: number } };
    thresholds: { expression: string; pass: boolean }[];
    verdict: { pass: boolean };
  };
  t.same(r.merged, { shards: 3 });
  t.same([r.summary.tentacles, r.summary.pairs, r.summary.coveredPairs, r.summary.coverage.final], [9, 18, 18, 1], 'every pair of the whole fleet covered');
  t.same(r.thresholds.map((x) => [x.expression, x.pass]), [['coverage.final >= 1', true], ['pairs >= 18', true]], 'the scenario thresholds, judged once on the merged Result');
  for (const f of ['report.md', 'report.html', 'junit.xml', 'metrics.prom']) t.ok(existsSync(join(merged, f)), `${f} written`);
  t.match(readFileSync(join(merged, 'report.md'), 'utf8'), /Merged.*from 3 shards/);

  const strict = spawnCli(['merge', join(dir, 'shards'), '--out', join(dir, 'merged-strict'), '--threshold', 'pairs >= 19', '--quiet']);
  t.equal((await strict.exited(60_000)).code, 1, 'a threshold the merged run misses fails the merge');
  const partial = spawnCli(['merge', join(dir, 'shards', 'shard-1'), join(dir, 'shards', 'shard-3'), '--out', join(dir, 'merged-partial')]);
  t.equal((await partial.exited(60_000)).code, 2, 'a missing shard is bad input');
  t.match(partial.stderr(), /shard 2\/3 missing/);
});
