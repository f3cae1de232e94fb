import t from 'tap';
import { Agent, request } from 'undici';
import { RestApi } from '../../src/cluster/rest-api.js';
import { MemoryRegistry } from '../../src/cluster/memory-machine-registry.js';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { registerTentacle } from '../../src/tentacle/registration.js';

// A Kubernetes agent registers as CommunicationStyle KubernetesTentacle with its polling
// endpoint inside TentacleEndpointConfiguration (OctopusClients
// KubernetesTentacleEndpointResource); the embedded API takes both shapes and says which
// fields a wrong one lacks.
const API_KEY = 'API-EMBEDDEDKEY0123456789ABCDEFG';
const agent = new Agent({ connections: 2 });
t.teardown(() => agent.close());

async function startApi() {
  const registry = new MemoryRegistry();
  const api = new RestApi({ nodeName: 'node1', host: '127.0.0.1', port: 0, apiKey: API_KEY, spaceId: 'Spaces-1', registry, serverThumbprint: 'B'.repeat(40), isDraining: () => false });
  const port = await api.listen();
  return { api, registry, url: `http://127.0.0.1:${port}` };
}

t.test('a Kubernetes agent registers as KubernetesTentacle and reads back as one', async (t) => {
  const { api, registry, url } = await startApi();
  t.teardown(() => api.close(1_000));
  const subscriptionId = newSubscriptionId();
  const r = await registerTentacle({
    apiUrl: url, apiKey: API_KEY, name: 'agent-1', environments: ['Production'], roles: ['k8s'], thumbprint: 'a'.repeat(40),
    subscriptionId, dispatcher: agent, timeoutMs: 5_000, communicationStyle: 'KubernetesTentacle',
  });
  const [m] = registry.list('Spaces-1');
  t.same([m!.communicationStyle, m!.subscriptionId, m!.thumbprint], ['KubernetesTentacle', subscriptionId, 'A'.repeat(40)]);
  const res = await request(`${url}/api/Spaces-1/machines/${r.machineId}`, { headers: { 'x-octopus-apikey': API_KEY }, dispatcher: agent });
  const body = (await res.body.json()) as { Endpoint: unknown };
  t.same(body.Endpoint, { CommunicationStyle: 'KubernetesTentacle', TentacleEndpointConfiguration: { CommunicationMode: 'Polling', Thumbprint: 'A'.repeat(40), Uri: subscriptionId } });
});

t.test('a wrong endpoint is refused with what its style needs', async (t) => {
  const { api, url } = await startApi();
  t.teardown(() => api.close(1_000));
  const post = async (Endpoint: unknown) => {
    const res = await request(`${url}/api/Spaces-1/machines`, {
      method: 'POST', dispatcher: agent,
      headers: { 'x-octopus-apikey': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ Name: 'x', EnvironmentIds: ['Environments-1'], Roles: ['r'], Endpoint }),
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const k8s = await post({ CommunicationStyle: 'KubernetesTentacle', Thumbprint: 'A'.repeat(40), Uri: 'poll://abcdefghij0123456789/' });
  t.equal(k8s.status, 400);
  t.match(k8s.text, /TentacleEndpointConfiguration/);
  const other = await post({ CommunicationStyle: 'TentaclePassive', Thumbprint: 'A'.repeat(40), Uri: 'https://x:10933/' });
  t.equal(other.status, 400);
  t.match(other.text, /CommunicationStyle: expected \\"TentacleActive\\" \(a polling Tentacle\) or \\"KubernetesTentacle\\"/);
});
