import t from 'tap';
import { runSmall, smallScenario } from '../../helpers/run.js';

// Nodes with a per-subscription cap of 2 and tentacles opening 3 connections per node: the third
// is closed right after MX-SUBSCRIBER without a byte (like an untrusted certificate); the nodes
// count it, and the diagnosis names the cap, not the certificate.
t.test('cap 2, 3 connections per tentacle per node: the third is refused and the diagnosis names the cap', async (t) => {
  const result = await runSmall(
    smallScenario({
      name: 'subscription-cap',
      cluster: { nodes: 2, pollingPort: 0, maxConnectionsPerSubscription: 2 },
      fleet: { tentacles: 3, rampUp: '1s', pollingConnectionCount: 3 },
      duration: '4s',
    }),
    t.testdir(),
  );
  const s = result.summary;
  t.equal(s.tentacles, 3);
  t.ok((s.errors['tls.untrusted'] ?? 0) >= 6, `closed without a byte: ${s.errors['tls.untrusted']} (at least one per tentacle per node)`);
  for (const n of result.nodes) {
    t.equal(n.polledBy, 3, `${n.name} still serves every tentacle (its two connections within the cap)`);
    t.ok((n.connectionsOverSubscriptionCap ?? 0) >= 3, `${n.name} refused ${n.connectionsOverSubscriptionCap} over the cap (the third per tentacle, and its retries)`);
  }
  const hits = result.diagnosis.filter((d) => d.startsWith('Nodes closed'));
  t.equal(hits.length, 1, 'one sentence about connections closed without a byte');
  t.match(hits[0], "untrusted certificate OR over the node's per-subscription connection limit");
  t.match(hits[0], 'over their cap of 2 per subscription per node');
  t.match(hits[0], 'the fleet opens 3 per tentacle per node (fleet.pollingConnectionCount)');
  t.notMatch(hits[0], 'does not trust', 'not named a certificate problem');
});
