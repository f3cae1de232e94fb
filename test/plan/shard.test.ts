import t from 'tap';
import { parseShard, shardLedgerFile, shardScenario, shardSlice } from '../../src/plan/shard.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { planScenario } from '../../src/plan/plan.js';
import { PLAN_SOURCES } from '../../src/environment/plan-sources.js';
import { renderPlan } from '../../src/report/render-plan.js';
import { externalSafetyProblems } from '../../src/environment/external/safety.js';

const external = (extra: Record<string, unknown> = {}) =>
  scenarioFromObject(
    {
      name: 'sharded',
      target: 'external',
      external: {
        nodes: [{ name: 'a', polling: '127.0.0.11:10943' }, { name: 'b', polling: '127.0.0.12:10943' }],
        thumbprint: 'A'.repeat(40),
        identity: { cert: 'c.pem', key: 'k.pem' },
      },
      fleet: { tentacles: 10, overrides: [{ tentacles: '3-6', nodes: ['a'] }] },
      ...extra,
    },
    'sharded.yaml',
  );

t.test('--shard i/n is parsed strictly', async (t) => {
  t.same(parseShard('2/3'), { index: 2, count: 3 });
  t.same(parseShard(' 1 / 1 '), { index: 1, count: 1 });
  for (const bad of ['0/3', '4/3', '3', '1/0', 'a/b', '-1/2', '1.5/3', '']) t.throws(() => parseShard(bad), /--shard .*expected i\/n/, bad);
});

t.test('slices are disjoint, cover the fleet and differ by at most one', async (t) => {
  for (const [T, n] of [[10, 3], [7, 7], [10000, 6], [5, 2], [1, 1]] as const) {
    const slices = Array.from({ length: n }, (_, i) => shardSlice(T, i + 1, n));
    let next = 0;
    for (const s of slices) {
      t.equal(s.first, next, `T=${T} n=${n}: contiguous`);
      next += s.size;
    }
    t.equal(next, T, `T=${T} n=${n}: covers the fleet`);
    const sizes = slices.map((s) => s.size);
    t.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `T=${T} n=${n}: even`);
  }
});

t.test('a shard scenario runs its slice, overrides re-indexed', async (t) => {
  const s = external();
  const two = shardScenario(s, { index: 2, count: 3 }, 'sharded.yaml'); // tentacles 3..5 (0-based)
  t.equal(two.fleet.tentacles, 3);
  t.same(two.shard, { index: 2, count: 3, firstTentacle: 3, tentacles: 3, totalTentacles: 10 });
  t.same(two.fleet.overrides, [{ from: 0, to: 2, nodes: ['a'] }], 'global 3-6 is local 0-2 of slice 3-5');
  const three = shardScenario(s, { index: 3, count: 3 }, 'sharded.yaml'); // 6..9
  t.same(three.fleet.overrides, [{ from: 0, to: 0, nodes: ['a'] }]);
  t.equal(s.fleet.tentacles, 10, 'the scenario itself is not changed');
  const text = renderPlan(planScenario(two, PLAN_SOURCES));
  t.match(text, /shard\s+2\/3: tentacles 4-6 of 10/);
});

t.test('embedded targets and empty shards are refused with a reason', async (t) => {
  const embedded = scenarioFromObject({ name: 'e', fleet: { tentacles: 4 } }, 'e.yaml');
  t.throws(() => shardScenario(embedded, { index: 1, count: 2 }, 'e.yaml'), /shards need an external target/);
  t.throws(() => shardScenario(external({ fleet: { tentacles: 2 } }), { index: 1, count: 3 }, 'sharded.yaml'), /would run no tentacle -- use at most 2 shards/);
});

t.test('each shard writes its own ledger of synthetic machines', async (t) => {
  const s = external({ external: { nodes: [{ name: 'a', polling: '127.0.0.11:10943' }], thumbprint: 'A'.repeat(40), apiUrl: 'http://127.0.0.1:1', apiKeyEnv: 'K', register: { environment: 'Test', ledger: 'state/ledger.json' } }, fleet: { tentacles: 10 } });
  const two = shardScenario(s, { index: 2, count: 3 }, 'x.yaml');
  t.equal(two.external!.register!.ledgerFile, 'state/ledger.shard-2-of-3.json');
  t.equal(two.external!.register!.count, 3);
  t.equal(shardLedgerFile('ledger', { index: 1, count: 2 }), 'ledger.shard-1-of-2');
});

t.test('the safety limits see every shard together', async (t) => {
  const s = external({ fleet: { tentacles: 60 }, external: { nodes: [{ name: 'a', polling: '127.0.0.11:10943' }], thumbprint: 'A'.repeat(40), apiUrl: 'http://127.0.0.1:1', apiKeyEnv: 'K', register: { environment: 'Test', ratePerSecond: 2 } } });
  const one = shardScenario(s, { index: 1, count: 3 }, 'x.yaml');
  t.equal(one.fleet.tentacles, 20, 'one shard alone is within the limit of 50');
  const problems = externalSafetyProblems(one);
  t.match(problems.join('\n'), /fleet.tentacles 60 is above the limit of 50/);
  t.match(problems.join('\n'), /3 shards x external.register.ratePerSecond 2 = 6 is above the limit of 5/);
  t.same(externalSafetyProblems({ ...one, external: { ...one.external!, allowLoad: true } }), [], '--i-understand-load lifts them, as for one process');
});
