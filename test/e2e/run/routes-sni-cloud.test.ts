import t from 'tap';
import { expectPass, runRoute } from '../../helpers/routes.js';

// route.preset octopus-cloud: sni-passthrough with one name (polling.example.octopus.app) in
// front of every node, round robin -- Octopus Cloud's polling endpoint. It needs multi-node
// polling (a shared queue); with a queue per node each connection reaches one node only.

t.test('one name for every node with a shared queue passes', async (t) => {
  const r = await runRoute(t, { kind: 'sni-passthrough', preset: 'octopus-cloud', sni: { port: 0 } }, { queue: 'shared' });
  expectPass(t, r);
});

t.test('one name for every node with a queue per node fails, and says this shape needs multi-node polling', async (t) => {
  const r = await runRoute(t, { kind: 'sni-passthrough', preset: 'octopus-cloud', sni: { port: 0 } });
  t.equal(r.verdict.pass, false, 'fails');
  t.ok(r.diagnosis.some((d) => d.startsWith('polling.example.octopus.app reaches every node round robin') && /multi-node polling/.test(d)), r.diagnosis.join(' | '));
});
