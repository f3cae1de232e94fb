import { createPrivateKey, X509Certificate } from 'node:crypto';
import t from 'tap';
import { createFleetIdentities } from '../../src/fleet/identity-pool.js';

t.test('fleet identities: one certificate each, keys shared round robin, every key the one its certificate was signed for', async (t) => {
  const ids = await createFleetIdentities(4, 2);
  t.equal(new Set(ids.map((i) => i.identity.thumbprint)).size, 4, 'own thumbprint per tentacle');
  t.equal(new Set(ids.map((i) => i.subscriptionId)).size, 4, 'own subscription per tentacle');
  t.equal(ids[0]!.identity.keyPem, ids[2]!.identity.keyPem, 'tentacles 0 and 2 share the first key pair');
  t.equal(ids[1]!.identity.keyPem, ids[3]!.identity.keyPem, 'tentacles 1 and 3 share the second key pair');
  t.not(ids[0]!.identity.keyPem, ids[1]!.identity.keyPem, 'the two key pairs differ');
  for (const [i, id] of ids.entries()) {
    t.ok(new X509Certificate(id.identity.certPem).checkPrivateKey(createPrivateKey(id.identity.keyPem)), `tentacle ${i}: key matches its certificate`);
  }
});
