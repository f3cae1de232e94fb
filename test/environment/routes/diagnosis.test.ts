import t from 'tap';
import { ROUTES } from '../../../src/environment/routes/route-registry.js';
import type { MeasuredRun } from '../../../src/environment/routes/route.js';
import { diagnose } from '../../../src/verdict/diagnose.js';

/** Just the fields the coverage sentences read: 6 tentacles, 3 nodes. */
function run(route: string, queue: string, polledBy: number[]): MeasuredRun {
  const names = ['node1', 'node2', 'node3'];
  return {
    route, queue, faults: [], scenario: null, interrupted: false,
    summary: { tentacles: 6, errors: {}, errorExamples: {}, nodesNeverPolled: names.filter((_, i) => polledBy[i] === 0), requests: { expired: 0 }, registrationMs: { failures: {} } },
    nodes: names.map((name, i) => ({ name, polledBy: polledBy[i], requests: { expired: 0 } })),
  } as unknown as MeasuredRun;
}

const hints = (kind: keyof typeof ROUTES) => ROUTES[kind].diagnosis;

t.test('single-address with a queue per node: the balanced address explains it', async (t) => {
  const never = diagnose(run('single-address', 'per-node', [6, 0, 0]), hints('single-address'));
  t.match(never, [/^node2 and node3 never received a poll: every tentacle reaches only the node .* \(node1\)/]);
  const partial = diagnose(run('single-address', 'per-node', [6, 3, 3]), hints('single-address'));
  t.match(partial, [/^Through one balanced address each tentacle polls only the node its connection landed on \(node2: 3\/6 tentacles, node3: 3\/6 tentacles\)/]);
  t.same(diagnose(run('single-address', 'shared', [6, 3, 3]), hints('single-address')), [], 'multi-node polling: partial polling is fine');
});

t.test('alb: a never-polled node gets the generic sentence, a partly polled one none', async (t) => {
  t.match(diagnose(run('alb', 'per-node', [6, 0, 6]), hints('alb')), [/^node2 never received a poll from any tentacle/]);
  t.same(diagnose(run('alb', 'per-node', [6, 3, 6]), hints('alb')), []);
});

t.test('per-node routes keep the generic sentences', async (t) => {
  for (const kind of ['direct', 'unique-port', 'nlb-unique-port'] as const) {
    t.match(diagnose(run(kind, 'per-node', [6, 3, 0]), hints(kind)), [/^node3 never received a poll from any tentacle/, /^node2 was polled by 3 of 6 tentacles/], kind);
  }
});
