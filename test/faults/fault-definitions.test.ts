import t from 'tap';
import { FAULT_TARGET_KINDS } from '../../src/faults/fault-spec.js';
import { FAULT_DEFINITIONS, FAULT_KINDS, faultDefinition, type FaultKind } from '../../src/faults/fault-registry.js';
import { faultSchema } from '../../src/faults/fault-schema.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { faultScenario } from '../helpers/faults.js';

/**
 * Every registered fault kind follows the contract: its schema parses an example and the
 * parse round-trips, unknown fields are refused, `for` is accepted exactly when the kind
 * can be undone, the example resolves into a spec of that kind, and it describes itself.
 * A new kind fails to compile here until it has an example.
 */
const EXAMPLES: Record<FaultKind, { target: string; params?: Record<string, unknown>; describe: string }> = {
  crash: { target: 'node1', describe: '' },
  restart: { target: 'node1', describe: '' },
  hang: { target: 'node2', describe: '' },
  resume: { target: 'node2', describe: '' },
  stop: { target: 'node1', describe: '' },
  start: { target: 'node1', describe: '' },
  drain: { target: 'node3', describe: '' },
  undrain: { target: 'node3', describe: '' },
  deregister: { target: 'balancer:node1', describe: '' },
  register: { target: 'balancer:node1', describe: '' },
  unhealthy: { target: 'balancer:node2', describe: '' },
  latency: { target: 'route', params: { latencyMs: 200, jitterMs: 50, direction: 'downstream' }, describe: '200 ms +- 50 ms downstream' },
  bandwidth: { target: 'node1', params: { bytesPerSec: 1000, share: 0.5 }, describe: '1000 bytes/s' },
  blackhole: { target: 'balancer:node1', describe: '' },
  reset: { target: 'route', params: { share: 0.5 }, describe: '' },
  slice: { target: 'node2', params: { delayMs: 5 }, describe: '~64-byte' },
  'limit-data': { target: 'route', params: { bytes: 4096 }, describe: '4096 bytes' },
  'idle-timeout': { target: 'balancer', params: { idleTimeout: '2s' }, describe: '2s' },
  'reconnect-storm': { target: 'balancer', describe: '' },
  'node-added': { target: 'node3', describe: '' },
  'redis-restart': { target: 'redis', describe: 'all data lost' },
  'redis-pause': { target: 'redis', describe: '' },
  'redis-latency': { target: 'redis', params: { latencyMs: 50 }, describe: '50 ms' },
  'redis-kill': { target: 'redis', describe: '' },
};

function input(kind: FaultKind): Record<string, unknown> {
  const e = EXAMPLES[kind];
  return { at: '1s', action: kind, target: e.target, ...e.params };
}

t.test('the registry: one list of kinds, each filed under its own name', async (t) => {
  t.same(FAULT_KINDS, Object.keys(FAULT_DEFINITIONS));
  for (const k of FAULT_KINDS) {
    const d = faultDefinition(k);
    t.equal(d.kind, k);
    t.ok(FAULT_TARGET_KINDS.some((tk) => d.targets[tk] !== undefined), `${k} accepts a target`);
    for (const u of d.undoes) t.ok((FAULT_KINDS as string[]).includes(u), `${k} undoes ${u}, a registered kind`);
  }
});

t.test('every schema parses its example, round-trips, and refuses unknown fields', async (t) => {
  for (const k of FAULT_KINDS) {
    const parsed = faultSchema.safeParse(input(k));
    t.ok(parsed.success, `${k} parses its example`);
    if (!parsed.success) continue;
    const again = faultSchema.safeParse(parsed.data);
    t.same(again.success && again.data, parsed.data, `${k} round-trips`);
    const unknown = faultSchema.safeParse({ ...input(k), bogus: 1 });
    t.notOk(unknown.success, `${k} refuses an unknown field`);
    const withFor = faultSchema.safeParse({ ...input(k), for: '2s' });
    t.equal(withFor.success, faultDefinition(k).revert !== undefined, `${k} accepts for exactly when it can be undone`);
  }
});

t.test('every example resolves into a spec of its kind that describes itself and tells its story', async (t) => {
  for (const k of FAULT_KINDS) {
    // Redis faults act on the redis-server pollfleet starts for queue: redis (no redisUrl)
    const cluster = k.startsWith('redis-') ? { cluster: { nodes: 3, pollingPort: 0, queue: 'redis' } } : {};
    const s = scenarioFromObject(faultScenario({ duration: '30s', route: { kind: 'nlb-unique-port' }, ...cluster, faults: [input(k)] }), 'f.yaml');
    const f = s.faults[0]!;
    t.equal(f.action, k);
    t.equal(f.atMs, 1000);
    const d = faultDefinition(k);
    t.equal(d.describe(f), EXAMPLES[k].describe, `${k} describes itself`);
    const words = d.story(f);
    t.ok(words.what.length > 0 && words.back.length > 0, `${k} has story words`);
  }
});

t.test('the spec is typed by kind: a kind carries its own parameters with defaults, and only those', async (t) => {
  const s = scenarioFromObject(
    faultScenario({ duration: '30s', faults: [input('slice'), input('crash'), { at: '2s', action: 'reset', target: 'node1' }] }),
    'f.yaml',
  );
  const [slice, crash, reset] = s.faults;
  if (slice?.action !== 'slice' || crash?.action !== 'crash' || reset?.action !== 'reset') return t.fail('unexpected kinds');
  t.same([slice.sliceBytes, slice.sliceDelayMs, slice.share, slice.direction], [64, 5, 1, 'both']);
  t.notOk('latencyMs' in crash, 'a crash carries no network parameters');
  t.equal(reset.share, 1, 'share defaults to every connection');
});
