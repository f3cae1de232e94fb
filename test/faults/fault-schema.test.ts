import t from 'tap';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { faultScenario } from '../helpers/faults.js';

function problems(faults: unknown[], over: Record<string, unknown> = {}): string {
  try {
    scenarioFromObject(faultScenario({ duration: '30s', faults, ...over }), 'f.yaml');
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

t.test('a valid timeline resolves with defaults, sorted by start, named action@target', async (t) => {
  const s = scenarioFromObject(
    faultScenario({
      duration: '30s',
      faults: [
        { at: '10s', action: 'latency', target: 'route', latencyMs: 200, jitterMs: 20, for: '5s' },
        { at: '2s', action: 'crash', target: 'node2', for: '3s' },
        { at: '20s', action: 'crash', target: 'node2' },
        { at: '25s', action: 'restart', target: 'node2', name: 'back' },
      ],
    }),
    'f.yaml',
  );
  t.same(s.faults.map((f) => [f.name, f.atMs, f.forMs]), [['crash@node2', 2000, 3000], ['latency@route', 10000, 5000], ['crash@node2#2', 20000, null], ['back', 25000, null]]);
  const lat = s.faults[1]!;
  if (lat.action !== 'latency') return t.fail(`expected the latency fault second, got ${lat.action}`);
  t.same([lat.latencyMs, lat.jitterMs, lat.share, lat.direction], [200, 20, 1, 'both']);
  t.same(lat.target, { kind: 'route' });
  t.same(s.faults[0]!.target, { kind: 'node', node: 'node2' });
});

t.test('bad faults name the path and what was expected', async (t) => {
  t.match(problems([{ at: '1s', action: 'explode', target: 'node1' }]), /faults\[0\]\.action: expected action to be one of: crash, restart/);
  t.match(problems([{ at: '1s', action: 'crash', target: 'node9' }]), /faults\[0\]\.target: unknown node "node9" \(nodes are node1, node2, node3/);
  t.match(problems([{ at: '1s', action: 'crash', target: 'node1', latencyMs: 5 }]), /faults\[0\]\.latencyMs: unknown field/);
  t.match(problems([{ at: '1s', action: 'latency', target: 'route' }]), /faults\[0\]\.latencyMs: expected number/);
  t.match(problems([{ at: 'soon', action: 'crash', target: 'node1' }]), /faults\[0\]\.at: expected a duration/);
  t.match(problems([{ at: '1s', action: 'reset', target: 'route', share: 2 }]), /faults\[0\]\.share: expected a share from 0 to 1/);
  t.match(problems([{ at: '40s', action: 'crash', target: 'node1' }]), /faults\[0\]\.at: 40s is after the end of the steady phase/);
  t.match(problems([{ at: '20s', action: 'crash', target: 'node1', for: '20s' }]), /faults\[0\]\.for: the fault would end at 40s/);
  t.match(problems([{ at: '1s', action: 'crash', target: 'route' }]), /faults\[0\]\.target: crash acts on a node/);
  t.match(problems([{ at: '1s', action: 'hang', target: 'node1' }], { cluster: { nodes: 3, pollingPort: 0, processes: false } }), /faults\[0\]\.action: hang sends a real signal/);
  t.match(problems([{ at: '1s', action: 'deregister', target: 'balancer:node1' }]), /faults\[0\]\.target: deregister on balancer:node1 needs the layer-4 balancer simulator/);
  t.match(problems([{ at: '1s', action: 'idle-timeout', target: 'node1', idleTimeout: '5s' }], { route: { kind: 'single-address' } }), /faults\[0\]\.target: idle-timeout changes the balancer's idle timeout: write target: balancer/);
  t.match(problems([{ at: '1s', action: 'slice', target: 'balancer:node1' }], { route: { kind: 'single-address' } }), /slice is applied by the fault proxy/);
  t.equal(problems([{ at: '1s', action: 'deregister', target: 'balancer:node1', for: '2s' }], { route: { kind: 'nlb-unique-port' } }), '', 'deregister through the NLB simulator is fine');
});
