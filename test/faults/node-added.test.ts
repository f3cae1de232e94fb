import t from 'tap';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { planScenario } from '../../src/plan/plan.js';
import { PLAN_SOURCES } from '../../src/environment/plan-sources.js';
import { FaultRun } from '../../src/faults/fault-run.js';

const scenario = (route: string, extra: Record<string, unknown> = {}) =>
  scenarioFromObject({ name: 'na', route: { kind: route }, cluster: { nodes: 3 }, fleet: { tentacles: 4 }, duration: '20s', faults: [{ at: '5s', action: 'node-added', target: 'node3' }], ...extra }, 'na.yaml');

t.test('no tentacle lists a node that joins later: every tentacle polls the others only', async (t) => {
  const plan = planScenario(scenario('direct', { fleet: { tentacles: 4, overrides: [{ tentacles: '0-1', nodes: ['node1', 'node3'] }] } }), PLAN_SOURCES);
  t.same(plan.overrides.map((o) => [o.from, o.to, o.nodes]), [[0, 1, ['node1']], [0, 3, ['node1', 'node2']]], 'user overrides lose the node too; the rest poll node1 and node2');
});

t.test('node-added needs a route with one entry per node', async (t) => {
  t.throws(() => scenario('single-address'), /node-added needs a route with one server entry per node/);
  t.throws(() => scenario('alb'), /node-added needs a route with one server entry per node/);
  t.doesNotThrow(() => scenario('nlb-unique-port'));
});

t.test('before the fleet starts, the joining node is taken out of the cluster', async (t) => {
  const stopped: string[] = [];
  const run = new FaultRun(scenario('direct'), () => undefined);
  await run.prepare({ stopNode: async (n: string) => void stopped.push(n) });
  t.same(stopped, ['node3']);
});
