import t from 'tap';
import { Agent } from 'undici';
import { RestApi } from '../../src/cluster/rest-api.js';
import { MemoryRegistry } from '../../src/cluster/memory-machine-registry.js';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { registerTentacle, type RegistrationOptions } from '../../src/tentacle/registration.js';
import { EventLog, closedPort } from '../helpers/tentacle.js';

/**
 * register-with against the embedded REST API over real HTTP on loopback: throttling (429
 * with Retry-After), an existing machine (error, or replaced with force), environments on
 * more than one page, and the key's own spaces (users/me).
 */
const API_KEY = 'API-EMBEDDEDKEY0123456789ABCDEFG';
const THUMBPRINT = 'A'.repeat(40);
const SERVER_THUMBPRINT = 'B'.repeat(40);

async function startApi(o: { rateLimit?: { requestsPerSecond: number; burst: number }; pageSize?: number } = {}) {
  const registry = new MemoryRegistry();
  const api = new RestApi({
    nodeName: 'node1', host: '127.0.0.1', port: 0, apiKey: API_KEY, spaceId: 'Spaces-1', registry,
    serverThumbprint: SERVER_THUMBPRINT, isDraining: () => false,
    ...(o.rateLimit ? { rateLimit: o.rateLimit } : {}),
    ...(o.pageSize ? { pageSize: o.pageSize } : {}),
  });
  const port = await api.listen();
  return { api, registry, url: `http://127.0.0.1:${port}` };
}

const agent = new Agent({ connections: 2 });
t.teardown(() => agent.close());

function opts(url: string, over: Partial<RegistrationOptions> = {}): RegistrationOptions {
  return {
    apiUrl: url, apiKey: API_KEY, name: 'pollfleet-synthetic-t1', environments: ['Production'], roles: ['pollfleet'],
    thumbprint: THUMBPRINT, subscriptionId: newSubscriptionId(), dispatcher: agent, timeoutMs: 5_000, ...over,
  };
}

t.test('a rate-limited API: the 429s are waited out (Retry-After), counted in the result and the event', async (t) => {
  // One request per second, no burst beyond one: the registration's ~7 calls must wait.
  const { api, registry, url } = await startApi({ rateLimit: { requestsPerSecond: 2, burst: 1 } });
  t.teardown(() => api.close(1_000));
  const log = new EventLog();
  const r = await registerTentacle(opts(url, { events: { sink: log.sink, tentacle: 0 } }));
  t.match(r.machineId, /^Machines-\d+$/);
  t.equal(registry.list('Spaces-1').length, 1, 'registered despite the throttling');
  t.ok(r.throttled >= 2, `throttled ${r.throttled} times`);
  t.ok(r.throttledWaitMs >= r.throttled * 1000, 'each Retry-After (whole seconds, at least 1) was waited');
  t.ok(r.durationMs >= r.throttledWaitMs, 'the waits are part of the registration time');
  const [ev] = log.of('registration');
  t.match(ev, { ok: true, throttled: r.throttled, throttledWaitMs: r.throttledWaitMs });
});

t.test('a machine of the same name: a clear error naming it; with force it is replaced', async (t) => {
  const { api, registry, url } = await startApi();
  t.teardown(() => api.close(1_000));
  const first = await registerTentacle(opts(url));
  const err = (await registerTentacle(opts(url)).catch((e: unknown) => e)) as Error & { kind: string; hint: string };
  t.equal(err.kind, 'registration.failed');
  t.match(err.message, `a machine named "pollfleet-synthetic-t1" already exists in Spaces-1 (${first.machineId})`);
  t.match(err.hint, /force: true/);
  t.equal(registry.list('Spaces-1').length, 1);

  const sub = newSubscriptionId();
  const again = await registerTentacle(opts(url, { force: true, subscriptionId: sub, environments: ['Test'] }));
  t.equal(again.replaced, true);
  const all = registry.list('Spaces-1');
  t.equal(all.length, 1, 'still one machine of that name');
  t.equal(all[0]!.subscriptionId, sub, 'with the new subscription');
  t.same(all[0]!.environmentIds, ['Environments-1']);
  t.equal(all[0]!.id, again.machineId);
});

t.test('environments on more than one page are found; the space comes from users/me', async (t) => {
  const { api, url } = await startApi({ pageSize: 1 });
  t.teardown(() => api.close(1_000));
  // "Production" is the second environment: with one per page it is only on page 2.
  const r = await registerTentacle(opts(url, { environments: ['Production'] }));
  t.equal(r.spaceId, 'Spaces-1', 'the default space among the key\'s own spaces');
  const err = (await registerTentacle(opts(url, { name: 'other', environments: ['Nope'] })).catch((e: unknown) => e)) as Error;
  t.match(err.message, /environment "Nope" not found in Spaces-1 \(2 read, every page\); environments: Test \(Environments-1\), Production \(Environments-2\)/);
});

t.test('users/me spaces are used: a space name the key cannot see is not found', async (t) => {
  const { api, url } = await startApi();
  t.teardown(() => api.close(1_000));
  const err = (await registerTentacle(opts(url, { space: 'Platform' })).catch((e: unknown) => e)) as Error;
  t.match(err.message, /space "Platform" not found among the API key's spaces: Default \(Spaces-1\)/);
  const ok = await registerTentacle(opts(url, { space: 'default' }));
  t.equal(ok.spaceId, 'Spaces-1');
});

t.test('the polling-port check is retried before registration gives up', async (t) => {
  const { api, registry, url } = await startApi();
  t.teardown(() => api.close(1_000));
  const port = await closedPort();
  const t0 = Date.now();
  const err = (await registerTentacle(opts(url, { name: 'port-check', pollingPort: { host: '127.0.0.1', port } })).catch((e: unknown) => e)) as Error & { kind: string };
  t.equal(err.kind, 'registration.failed');
  t.match(err.message, /^polling port check: .*\(3 tries\)$/);
  t.ok(Date.now() - t0 >= 2 * 900, 'two waits between three tries');
  t.equal(registry.list('Spaces-1').length, 0, 'nothing registered');
});
