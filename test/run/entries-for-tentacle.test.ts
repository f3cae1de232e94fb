import t from 'tap';
import { entriesForTentacle } from '../../src/run/run-scenario.js';
import type { ServerEntry } from '../../src/tentacle/server-entry.js';

const entry = (name: string): ServerEntry => ({ address: `https://${name}:10943`, host: name, port: 10943, thumbprint: 'A'.repeat(40), name });
const nodes = [{ name: 'node1' }, { name: 'node2' }, { name: 'node3' }];

t.test('fleet.overrides: those tentacles get only the entries reaching their nodes; the others share one array', async (t) => {
  const entries = [entry('node1'), entry('node2'), entry('node3')];
  const forT = entriesForTentacle({ nodes, overrides: [{ from: 0, to: 1, nodes: ['node1', 'node3'] }] } as never, entries, [0, 1, 2]);
  t.same(forT(0).map((e) => e.name), ['node1', 'node3']);
  t.same(forT(1).map((e) => e.name), ['node1', 'node3']);
  t.equal(forT(2), entries, 'no override: the very array every tentacle shares (faults map entries by identity)');
  t.equal(forT(0)[1], entries[2], 'the same entry objects');
});

t.test('entries are matched by the node they reach, not by position', async (t) => {
  const entries = [entry('b'), entry('a')];
  const forT = entriesForTentacle({ nodes, overrides: [{ from: 0, to: 0, nodes: ['node1'] }] } as never, entries, [1, 0]);
  t.same(forT(0).map((e) => e.name), ['a']);
});
