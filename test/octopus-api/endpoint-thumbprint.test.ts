import t from 'tap';
import { endpointThumbprint, pollingEndpoint } from '../../src/octopus-api/octopus-resources.js';

// How pollfleet tells its own machines from anyone else's of the same name (adopting a machine
// after a lost answer, deleting at clean-up): the endpoint's thumbprint, for both endpoint kinds.
t.test('the thumbprint of a Tentacle and of a Kubernetes agent endpoint, upper-case; null without one', async (t) => {
  const tp = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
  t.equal(endpointThumbprint({ Endpoint: pollingEndpoint('TentacleActive', tp, 'poll://x/') }), tp.toUpperCase());
  t.equal(endpointThumbprint({ Endpoint: pollingEndpoint('KubernetesTentacle', tp, 'poll://x/') }), tp.toUpperCase());
  t.equal(endpointThumbprint({ Endpoint: { CommunicationStyle: 'None' } }), null, 'a cloud region has none');
  t.equal(endpointThumbprint({}), null, 'no endpoint');
  t.equal(endpointThumbprint({ Endpoint: { Thumbprint: 42 } }), null, 'not a string');
  t.equal(endpointThumbprint({ Endpoint: { Thumbprint: '' } }), null, 'empty');
});
