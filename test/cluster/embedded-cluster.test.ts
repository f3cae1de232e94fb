import t from 'tap';
import { EmbeddedCluster } from '../../src/cluster/embedded-cluster.js';
import { generateCertificate } from '../../src/pki/certificate.js';
import type { PollfleetError } from '../../src/core/errors.js';
import type { ProtocolSettings } from '../../src/scenario/resolve.js';

t.test('the embedded cluster follows the lifecycle base: idempotent stop, no node started after stop', async (t) => {
  const cluster = new EmbeddedCluster({
    nodes: [],
    certificate: await generateCertificate({ commonName: 'Octopus Portal' }),
    apiKey: 'API-TEST',
    spaceId: 'Spaces-1',
    apiHttps: false,
    protocol: {} as ProtocolSettings, // never read: no node starts
    workload: { intervalMs: 1000, scriptShare: 0, enabled: false },
    queue: 'per-node',
    redisUrl: null,
    processes: false,
    sink: () => undefined,
  });
  t.same(await cluster.start(), []);
  t.equal(cluster.state, 'running');
  const a = cluster.stop();
  t.equal(cluster.stop(), a, 'concurrent stops share one promise');
  await a;
  t.equal(cluster.state, 'stopped');
  await t.rejects(cluster.startNode('node1'), /embedded cluster: already stopped \(startNode node1 refused\)/);
  const kind = await cluster.start().then(
    () => null,
    (e: PollfleetError) => e.kind,
  );
  t.equal(kind, 'lifecycle.stopped');
});
