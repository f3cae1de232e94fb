import tls from 'node:tls';
import t from 'tap';
import { Agent, request } from 'undici';
import { CERTIFICATE_PATH } from '../../src/cluster/rest-api.js';
import { CLUSTER_DEFAULTS } from '../../src/scenario/defaults.js';
import { newSubscriptionId } from '../../src/halibut/index.js';
import { thumbprintOfDer } from '../../src/pki/index.js';
import { API_KEY, startClusterNode, testCertificates, type ClusterTestNode } from '../helpers/cluster.js';

interface Reply {
  status: number;
  body: any;
  text: string;
}

async function call(n: ClusterTestNode, method: 'GET' | 'POST' | 'DELETE', path: string, o: { key?: string | null; body?: string; https?: boolean; dispatcher?: Agent } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  const key = o.key === undefined ? API_KEY : o.key;
  if (key !== null) headers['X-Octopus-ApiKey'] = key;
  if (o.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await request(`${o.https ? 'https' : 'http'}://127.0.0.1:${n.apiPort}${path}`, {
    method, headers, body: o.body, headersTimeout: 5_000, bodyTimeout: 5_000,
    ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
  });
  const text = await res.body.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return { status: res.statusCode, body, text };
}

t.test('the registration flow: root, spaces, certificate, environments, create, read, list, delete', async (t) => {
  const n = await startClusterNode();
  t.teardown(() => n.close());
  const { tentacle } = await testCertificates();

  const root = await call(n, 'GET', '/api');
  t.equal(root.status, 200);
  t.equal(root.body.Application, 'Octopus Deploy');
  t.match(root.body.Version, /^\d{4}\.\d+\.\d+/);
  t.equal(root.body.ApiVersion, '3.0.0');
  t.match(root.body.InstallationId, /^[0-9a-f]{8}-/);
  for (const link of ['Self', 'Spaces', 'Machines', 'Environments', 'CurrentUser', 'ServerStatus', 'OctopusServerNodes']) {
    t.type(root.body.Links[link], 'string', `Links.${link}`);
  }

  const spaces = await call(n, 'GET', '/api/spaces');
  t.equal(spaces.status, 200);
  t.equal(spaces.body.TotalResults, 1);
  t.match(spaces.body.Items[0], { Id: 'Spaces-1', Name: 'Default', IsDefault: true });

  const cert = await call(n, 'GET', CERTIFICATE_PATH);
  t.equal(cert.status, 200);
  t.equal(cert.body.Id, 'certificate-global');
  t.equal(cert.body.Thumbprint, n.server.thumbprint);

  const envs = await call(n, 'GET', '/api/Spaces-1/environments');
  t.same(envs.body.Items.map((e: { Name: string }) => e.Name), ['Test', 'Production']);

  const sub = newSubscriptionId();
  const body = JSON.stringify({
    Name: 'web-01', EnvironmentIds: ['Environments-1'], Roles: ['web'], TenantIds: [], TenantTags: [],
    TenantedDeploymentParticipation: 'Untenanted',
    Endpoint: { CommunicationStyle: 'TentacleActive', Thumbprint: tentacle.thumbprint.toLowerCase(), Uri: sub },
  });
  const created = await call(n, 'POST', '/api/Spaces-1/machines', { body });
  t.equal(created.status, 201);
  t.equal(created.body.Id, 'Machines-1');
  t.equal(created.body.Endpoint.Thumbprint, tentacle.thumbprint, 'stored upper-case');
  t.equal(created.body.Endpoint.Uri, sub);
  t.ok(n.registry.isTrusted(tentacle.thumbprint), 'the node now trusts the tentacle');

  const dup = await call(n, 'POST', '/api/Spaces-1/machines', { body });
  t.equal(dup.status, 400, 'a second machine with the same name is refused');
  t.match(dup.body.Errors[0], /already exists/);

  const got = await call(n, 'GET', '/api/Spaces-1/machines/Machines-1');
  t.equal(got.status, 200);
  t.equal(got.body.Name, 'web-01');
  const byName = await call(n, 'GET', '/api/Spaces-1/machines?name=web-01');
  t.equal(byName.body.TotalResults, 1);
  const partial = await call(n, 'GET', '/api/Spaces-1/machines?partialName=eb-');
  t.equal(partial.body.TotalResults, 1);
  const none = await call(n, 'GET', '/api/Spaces-1/machines?name=web-02');
  t.equal(none.body.TotalResults, 0);

  const del = await call(n, 'DELETE', '/api/Spaces-1/machines/Machines-1');
  t.equal(del.status, 200);
  t.equal((await call(n, 'GET', '/api/Spaces-1/machines/Machines-1')).status, 404);
  t.equal((await call(n, 'DELETE', '/api/Spaces-1/machines/Machines-1')).status, 404);
  t.notOk(n.registry.isTrusted(tentacle.thumbprint), 'deleting the machine revokes trust');
});

t.test('without the API key: 401, and the key never appears in a reply', async (t) => {
  const n = await startClusterNode();
  t.teardown(() => n.close());
  const none = await call(n, 'GET', '/api', { key: null });
  t.equal(none.status, 401);
  t.match(none.body.ErrorMessage, /You must be logged in/);
  const wrong = await call(n, 'GET', '/api/spaces', { key: 'API-WRONG' });
  t.equal(wrong.status, 401);
  t.notMatch(wrong.text, API_KEY);
  t.notMatch(wrong.text, 'API-WRONG');
  const viaQuery = await call(n, 'GET', `/api/spaces?apikey=${API_KEY}`, { key: null });
  t.equal(viaQuery.status, 200, '?apikey= works too');
  t.equal((await call(n, 'GET', '/api/nothing-here')).status, 404);
  t.equal((await call(n, 'GET', '/api/nothing-here')).body.ErrorMessage.length > 0, true);
  t.equal((await call(n, 'GET', '/api/Spaces-9/machines')).status, 404, 'an unknown space is not found');
});

t.test('a bad machine body gets 400 with a message naming each field', async (t) => {
  const n = await startClusterNode();
  t.teardown(() => n.close());
  const bad = await call(n, 'POST', '/api/Spaces-1/machines', {
    body: JSON.stringify({
      Name: '', EnvironmentIds: ['Environments-99'], Roles: 'web',
      Endpoint: { CommunicationStyle: 'TentaclePassive', Uri: 'https://x:10933/' },
    }),
  });
  t.equal(bad.status, 400);
  t.equal(bad.body.ErrorMessage, 'There was a problem with your request.');
  const errors: string = bad.body.Errors.join('\n');
  for (const field of ['Name', 'EnvironmentIds', 'Roles', 'Endpoint.CommunicationStyle', 'Endpoint.Thumbprint', 'Endpoint.Uri']) {
    t.match(errors, new RegExp(`^${field.replace('.', '\\.')}:`, 'm'), `names ${field}`);
  }
  const notJson = await call(n, 'POST', '/api/Spaces-1/machines', { body: '{"Name": ' });
  t.equal(notJson.status, 400);
  t.match(notJson.body.Errors[0], /not valid JSON/);
  t.equal(n.registry.list('Spaces-1').length, 0, 'nothing was registered');
});

t.test('ping is anonymous: 200 online, 418 while draining; redis status from the option', async (t) => {
  const n = await startClusterNode({ redisStatus: { IsEnabled: true, IsConfigured: true, IsReachable: false } });
  t.teardown(() => n.close());
  const up = await call(n, 'GET', '/api/octopusservernodes/ping', { key: null });
  t.equal(up.status, 200);
  t.equal(up.body.IsDraining, false);
  n.node.setDraining(true);
  t.equal(n.node.isDraining, true);
  const draining = await call(n, 'GET', '/api/octopusservernodes/ping', { key: null });
  t.equal(draining.status, 418);
  t.ok(n.events.some((e) => e.type === 'node-state' && e.state === 'draining'));
  n.node.setDraining(false);
  t.equal((await call(n, 'GET', '/api/octopusservernodes/ping', { key: null })).status, 200);
  const redis = await call(n, 'GET', '/api/serverstatus/redis');
  t.same(redis.body, { IsEnabled: true, IsConfigured: true, IsReachable: false });
  t.equal((await call(n, 'GET', '/api/serverstatus/redis', { key: null })).status, 401);
});

t.test('over HTTPS the API presents the cluster certificate', async (t) => {
  const n = await startClusterNode({ api: { host: '127.0.0.1', port: 0, https: true } });
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  t.teardown(async () => {
    await agent.close();
    await n.close();
  });
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: n.apiPort, rejectUnauthorized: false }, () => resolve(s));
    s.once('error', reject);
  });
  t.equal(thumbprintOfDer(socket.getPeerCertificate().raw), n.server.thumbprint);
  socket.destroy();
  const res = await call(n, 'GET', '/api/spaces', { https: true, dispatcher: agent });
  t.equal(res.status, 200);
  t.equal(res.body.Items[0].Id, 'Spaces-1');
});

t.test('wrong JSON types in every field get 400 naming each field; a body over the limit gets 413; the node keeps serving', async (t) => {
  const n = await startClusterNode();
  t.teardown(() => n.close());
  const bad = await call(n, 'POST', '/api/Spaces-1/machines', {
    body: JSON.stringify({ Name: 7, EnvironmentIds: 'Environments-1', Roles: [1], Endpoint: { CommunicationStyle: ['TentacleActive'], Thumbprint: 40, Uri: null } }),
  });
  t.equal(bad.status, 400);
  const errors: string = bad.body.Errors.join('\n');
  for (const field of ['Name', 'EnvironmentIds', 'Roles', 'Endpoint.CommunicationStyle', 'Endpoint.Thumbprint', 'Endpoint.Uri']) {
    t.match(errors, new RegExp(`^${field.replace('.', '\\.')}:`, 'm'), `names ${field}`);
  }
  const notObject = await call(n, 'POST', '/api/Spaces-1/machines', { body: '[]' });
  t.equal(notObject.status, 400);
  t.match(notObject.body.Errors[0], /must be a JSON object/);
  const huge = await call(n, 'POST', '/api/Spaces-1/machines', { body: JSON.stringify({ Name: 'x'.repeat(CLUSTER_DEFAULTS.restMaxBodyBytes) }) });
  t.equal(huge.status, 413);
  t.type(huge.body.ErrorMessage, 'string');
  t.equal((await call(n, 'GET', '/api/Spaces-1/environments')).status, 200, 'still serving');
});
