import t from 'tap';
import { Agent } from 'undici';
import { OctopusClient } from '../../src/octopus-api/octopus-client.js';
import { apiBaseUrl } from '../../src/octopus-api/api-base-url.js';
import { scrubSecret } from '../../src/octopus-api/scrub-secret.js';
import { registerTentacle } from '../../src/tentacle/registration.js';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { closedPort, startTestApi } from '../helpers/tentacle.js';
import { getTestCertificates } from '../helpers/tls-pair.js';

const certs = await getTestCertificates();
const API_KEY = 'API-TESTKEY0123456789ABCDEFGHIJ';
const api = await startTestApi({ apiKey: API_KEY, serverThumbprint: certs.node.thumbprint });
const agent = new Agent({ connections: 2 });
t.teardown(async () => {
  await agent.close();
  await api.close();
});

const client = (over: { apiKey?: string | null; apiUrl?: string } = {}) =>
  new OctopusClient({ apiUrl: over.apiUrl ?? api.url, apiKey: over.apiKey === undefined ? API_KEY : over.apiKey, dispatcher: agent, timeoutMs: 5_000 });

t.test('typed reads: root document, spaces, server thumbprint, environments', async (t) => {
  const c = client();
  t.ok((await c.rootDocument()).Version, 'a Version');
  t.same((await c.spaces()).map((s) => s['Id']), ['Spaces-1', 'Spaces-2']);
  t.equal(await c.serverThumbprint(), certs.node.thumbprint);
  t.same((await c.environments('Spaces-1')).map((e) => e['Name']), ['Production', 'Staging']);
});

t.test('machines: create, find by name, delete; a second delete is an error with status 404', async (t) => {
  const r = await registerTentacle({
    apiUrl: api.url, apiKey: API_KEY, name: 'pollfleet-client-test', environments: ['Production'], roles: ['r'],
    thumbprint: certs.tentacle.thumbprint, subscriptionId: newSubscriptionId(), dispatcher: agent, timeoutMs: 5_000,
  });
  const c = client();
  await c.deleteMachine(r.spaceId, r.machineId);
  t.ok(api.deleted.includes(r.machineId));
  const err = await c.deleteMachine(r.spaceId, r.machineId).then(() => null, (e: unknown) => e as { kind: string; status?: number; message: string; address?: string });
  t.equal(err?.kind, 'api.error');
  t.equal(err?.status, 404, 'status is a field');
  t.match(err?.message, /delete machine: DELETE .* returned HTTP 404/);
  t.match(err?.address, /\/api\/Spaces-1\/machines\//);
});

t.test('401: api.unauthorized with status 401, the key scrubbed from the message', async (t) => {
  const wrong = 'API-WRONGKEY9876543210ZYXWVUTS';
  const err = await client({ apiKey: wrong }).spaces().then(() => null, (e: unknown) => e as { kind: string; status?: number; message: string });
  t.equal(err?.kind, 'api.unauthorized');
  t.equal(err?.status, 401);
  t.notMatch(err?.message, wrong);
});

t.test('answer() returns any status as it came; no key, no header', async (t) => {
  const a = await client({ apiKey: null }).answer('/api/spaces');
  t.equal(a.status, 401);
  t.ok(a.durationMs >= 0);
});

t.test('a transport failure names step, URL and kind; no status', async (t) => {
  const port = await closedPort();
  const err = await client({ apiUrl: `http://127.0.0.1:${port}` }).rootDocument().then(() => null, (e: unknown) => e as { kind: string; status?: number; message: string });
  t.equal(err?.kind, 'api.error');
  t.equal(err?.status, undefined);
  t.match(err?.message, /root document: GET http:\/\/127\.0\.0\.1:\d+\/api failed \(tcp\.refused\)/);
});

t.test('apiBaseUrl drops the trailing slash, query and credentials; rejects what is not http(s)', async (t) => {
  t.equal(apiBaseUrl('https://user:secret@octopus.example.com/octopus/?x=1'), 'https://octopus.example.com/octopus');
  t.throws(() => apiBaseUrl('octopus.example.com'), { name: 'PollfleetError', message: /not a URL/ });
  t.throws(() => apiBaseUrl('ftp://octopus.example.com'), { name: 'PollfleetError', message: /expected http/ });
  t.equal(scrubSecret('key API-ABCDEFGH here', 'API-ABCDEFGH'), 'key API-*** here');
});

t.test('an answer past the size cap is refused, not buffered: a server streaming without end cannot grow the process', async (t) => {
  const { createServer } = await import('node:http');
  const { REGISTRATION_DEFAULTS } = await import('../../src/scenario/defaults.js');
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  let sent = 0;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    // Never ends on its own: the client must stop it (bounded here at twice the cap).
    const pump = () => {
      while (sent < 2 * REGISTRATION_DEFAULTS.maxResponseBytes && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const err = await client({ apiUrl: `http://127.0.0.1:${port}` }).rootDocument().then(() => null, (e: unknown) => e as { kind: string; status?: number; message: string });
  t.equal(err?.kind, 'api.error');
  t.equal(err?.status, 200);
  t.match(err?.message, /answered with more than 64 MiB \(HTTP 200\)/);
  t.ok(sent < 2 * REGISTRATION_DEFAULTS.maxResponseBytes, `the client closed the connection before the server sent everything (${sent / 1048576} MiB)`);
});
