import t from 'tap';
import { Agent } from 'undici';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { checkPollingPort } from '../../src/octopus-api/polling-port-check.js';
import { registerTentacle, type RegistrationOptions } from '../../src/tentacle/registration.js';
import { EventLog, closedPort, startTestApi, startStubNode } from '../helpers/tentacle.js';
import { getTestCertificates } from '../helpers/tls-pair.js';

const certs = await getTestCertificates();
const API_KEY = 'API-TESTKEY0123456789ABCDEFGHIJ';

const api = await startTestApi({ apiKey: API_KEY, serverThumbprint: certs.node.thumbprint });
const node = await startStubNode();
const agent = new Agent({ connections: 4 });
t.teardown(async () => {
  await agent.close();
  await api.close();
  await node.close();
});

let n = 0;
function opts(over: Partial<RegistrationOptions> = {}): RegistrationOptions {
  return {
    apiUrl: api.url + '/',
    apiKey: API_KEY,
    name: `pollfleet-tentacle-${++n}`,
    environments: ['Production'],
    roles: ['pollfleet'],
    thumbprint: certs.tentacle.thumbprint,
    subscriptionId: newSubscriptionId(),
    dispatcher: agent,
    timeoutMs: 5_000,
    ...over,
  };
}

t.test('register-with flow end to end: port check, root, space, thumbprint, environments, POST machines', async (t) => {
  const log = new EventLog();
  const o = opts({ pollingPort: { host: node.host, port: node.port }, events: { sink: log.sink, tentacle: 4 } });
  const r = await registerTentacle(o);
  t.equal(r.spaceId, 'Spaces-1', 'the default space');
  t.equal(r.serverThumbprint, certs.node.thumbprint);
  t.match(r.machineId, /^Machines-\d+$/);
  t.same(r.steps.map((s) => s.name), ['polling-port', 'root', 'space', 'server-thumbprint', 'environments', 'lookup', 'register']);
  t.ok(r.steps.every((s) => s.durationMs >= 0) && r.durationMs >= r.steps.reduce((a, s) => a + s.durationMs, 0) - 1);
  const m = api.machines.find((x) => x.id === r.machineId)!;
  t.same(m.body, {
    Name: o.name,
    EnvironmentIds: ['Environments-1'],
    Roles: ['pollfleet'],
    TenantIds: [],
    TenantTags: [],
    TenantedDeploymentParticipation: 'Untenanted',
    Endpoint: { CommunicationStyle: 'TentacleActive', Thumbprint: certs.tentacle.thumbprint, Uri: o.subscriptionId },
  });
  t.match(log.of('registration'), [{ ok: true, tentacle: 4, machineId: r.machineId }]);
  t.ok(node.sessionEnds.includes('http-page'), 'the node answered POST /handshake with its page');
});

t.test('space by name, environment by id or name (any case)', async (t) => {
  const r = await registerTentacle(opts({ space: 'platform', environments: ['PLATFORM'] }));
  t.equal(r.spaceId, 'Spaces-2');
  t.same(api.machines.find((x) => x.id === r.machineId)!.body['EnvironmentIds'], ['Environments-11']);
  const byId = await registerTentacle(opts({ space: 'Spaces-1', environments: ['Environments-2'] }));
  t.same(byId.steps.find((s) => s.name === 'polling-port'), undefined, 'no port check unless asked');
  t.same(api.machines.find((x) => x.id === byId.machineId)!.body['EnvironmentIds'], ['Environments-2']);
});

t.test('401: api.unauthorized with the status, never the API key', async (t) => {
  const log = new EventLog();
  const wrongKey = 'API-WRONGKEY9876543210ZYXWVUTS';
  const err = await registerTentacle(opts({ apiKey: wrongKey, events: { sink: log.sink, tentacle: 1 } })).then(
    () => null,
    (e: unknown) => e as Error & { kind: string },
  );
  t.ok(err, 'rejected');
  t.equal(err!.kind, 'api.unauthorized');
  t.match(err!.message, /HTTP 401/);
  t.match(err!.message, /You must be logged in/, "the server's ErrorMessage");
  t.notMatch(err!.message, wrongKey, 'the key the server echoed is scrubbed');
  t.notMatch(err!.message, API_KEY);
  const ev = log.of('registration')[0]!;
  t.equal(ev.ok, false);
  t.equal(ev.status, 401);
  t.equal((err as { status?: number }).status, 401, 'the status is a field of the error');
  t.equal(ev.errorKind, 'api.unauthorized');
  t.notMatch(JSON.stringify(log.events), wrongKey, 'no key in events');
});

t.test('a machine of that name already exists: a clear error naming it, nothing posted', async (t) => {
  const o = opts();
  const first = await registerTentacle(o);
  const posts = api.requests.filter((r) => r.startsWith('POST')).length;
  const err = (await registerTentacle({ ...o, subscriptionId: newSubscriptionId() }).catch((e: unknown) => e)) as Error & { kind: string; hint?: string };
  t.equal(err.kind, 'registration.failed');
  t.match(err.message, `a machine named "${o.name}" already exists in Spaces-1 (${first.machineId})`);
  t.match(err.hint, /external\.register\.force: true/);
  t.notMatch(err.message, API_KEY);
  t.equal(api.requests.filter((r) => r.startsWith('POST')).length, posts, 'no second POST');
});

t.test('unknown environment or space: a clear message listing what exists', async (t) => {
  const e1 = (await registerTentacle(opts({ environments: ['Prod'] })).catch((e: unknown) => e)) as Error & { kind: string };
  t.equal(e1.kind, 'registration.failed');
  t.match(e1.message, /environment "Prod" not found in Spaces-1 \(2 read, every page\); environments: Production \(Environments-1\), Staging/);
  const e2 = (await registerTentacle(opts({ space: 'Nope' })).catch((e: unknown) => e)) as Error;
  t.match(e2.message, /space "Nope" not found among the API key's spaces: Default \(Spaces-1\), Platform \(Spaces-2\)/);
});

t.test('an old or wrong root document is refused', async (t) => {
  const old = await startTestApi({ apiKey: API_KEY, serverThumbprint: certs.node.thumbprint, version: '2.6.5' });
  t.teardown(() => old.close());
  const err = (await registerTentacle(opts({ apiUrl: old.url })).catch((e: unknown) => e)) as Error & { kind: string };
  t.equal(err.kind, 'registration.failed');
  t.match(err.message, /Version "2\.6\.5"/);
});

t.test('unreachable API or polling port: registration.failed, no key', async (t) => {
  const port = await closedPort();
  const err = (await registerTentacle(opts({ apiUrl: `http://127.0.0.1:${port}` })).catch((e: unknown) => e)) as Error & { kind: string };
  t.equal(err.kind, 'registration.failed');
  t.match(err.message, /root document: GET http:\/\/127\.0\.0\.1:\d+\/api failed \(tcp\.refused\)/);
  t.notMatch(err.message, API_KEY);
  const err2 = (await registerTentacle(opts({ pollingPort: { host: '127.0.0.1', port } })).catch((e: unknown) => e)) as Error & { kind: string };
  t.equal(err2.kind, 'registration.failed');
  t.match(err2.message, /polling port check/);
});

t.test('checkPollingPort: open on a node, closed elsewhere', async (t) => {
  const open = await checkPollingPort({ host: node.host, port: node.port, timeoutMs: 5_000 });
  t.equal(open.isOpen, true);
  t.equal(open.status, 200);
  const port = await closedPort();
  const closed = await checkPollingPort({ host: '127.0.0.1', port, timeoutMs: 5_000 });
  t.equal(closed.isOpen, false);
  t.equal(closed.errorKind, 'tcp.refused');
  t.match(closed.message, `127.0.0.1:${port}/handshake`);
});

t.test('a bad apiUrl is an input error', async (t) => {
  await t.rejects(registerTentacle(opts({ apiUrl: 'octopus.example.com' })), { kind: 'input.invalid', message: /not a URL/ });
});
