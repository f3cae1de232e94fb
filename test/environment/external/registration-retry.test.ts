import t, { type Test } from 'tap';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PollfleetError } from '../../../src/core/errors.js';
import type { PollfleetEvent, RegistrationEvent } from '../../../src/core/events.js';
import { Ledger } from '../../../src/environment/external/ledger.js';
import { SyntheticRegistrar, isLostAnswer } from '../../../src/environment/external/synthetic-registrar.js';
import type { FleetIdentity } from '../../../src/fleet/identity-pool.js';

// A synthetic registration whose answer is lost (the connection closed without an HTTP
// answer, or no answer in time) is tried again -- the name looked up first, so a machine
// the server did create is adopted, never posted twice. A small REST API on 127.0.0.1
// imitates the calls registration makes and loses answers on purpose.

const API_KEY = 'API-RETRYTESTKEY0123456789ABCDE';
const THUMBPRINT = 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678';
const OTHER_THUMBPRINT = 'FFEEDDCCBBAA99887766554433221100FFEEDDCC';

/** What the fake does with the n-th POST /machines (1-based). */
type PostMode = 'ok' | 'drop' | 'create-then-drop' | 'create-then-hang' | 'http-500' | 'foreign-then-drop';

interface FakeApi {
  url: string;
  machines: { id: string; name: string; thumbprint: string }[];
  /** Every request as `METHOD path` (query cut off). */
  requests: string[];
  deleted: string[];
  count(method: string, pathEnd: string): number;
  close(): Promise<void>;
}

async function startFakeApi(postMode: (n: number) => PostMode): Promise<FakeApi> {
  let posts = 0;
  let nextId = 1;
  const api: FakeApi = {
    url: '',
    machines: [],
    requests: [],
    deleted: [],
    count: (method, pathEnd) => api.requests.filter((r) => r.startsWith(`${method} `) && r.endsWith(pathEnd)).length,
    close: async () => {},
  };
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      api.requests.push(`${req.method} ${path}`);
      if (req.headers['x-octopus-apikey'] !== API_KEY) return json(res, 401, { ErrorMessage: 'You must be logged in', Errors: [] });
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && path === '/api') return json(res, 200, { Application: 'Octopus Deploy', Version: '2025.1.1234' });
      if (req.method === 'GET' && path === '/api/configuration/certificates/certificate-global') return json(res, 200, { Thumbprint: 'AA'.repeat(20) });
      if (req.method === 'GET' && path === '/api/Spaces-1/environments') return json(res, 200, { Items: [{ Id: 'Environments-1', Name: 'Test' }] });
      if (req.method === 'GET' && path === '/api/Spaces-1/machines') {
        const name = url.searchParams.get('name') ?? '';
        return json(res, 200, { Items: api.machines.filter((x) => x.name.includes(name)).map((x) => ({ Id: x.id, Name: x.name, Endpoint: { Thumbprint: x.thumbprint } })) });
      }
      if (req.method === 'POST' && path === '/api/Spaces-1/machines') {
        const body = JSON.parse(raw) as { Name: string; Endpoint: { Thumbprint: string } };
        const mode = postMode(++posts);
        if (mode === 'drop') return req.socket.destroy();
        if (mode === 'http-500') return json(res, 500, { ErrorMessage: 'The database is busy', Errors: [] });
        if (api.machines.some((x) => x.name === body.Name)) return json(res, 400, { ErrorMessage: 'There was a problem with your request.', Errors: [`A machine named '${body.Name}' already exists.`] });
        const id = `Machines-${nextId++}`;
        api.machines.push({ id, name: body.Name, thumbprint: mode === 'foreign-then-drop' ? OTHER_THUMBPRINT : body.Endpoint.Thumbprint });
        if (mode === 'create-then-drop' || mode === 'foreign-then-drop') return req.socket.destroy();
        if (mode === 'create-then-hang') return; // never answers: the client's timeout ends it
        return json(res, 201, { Id: id, Name: body.Name });
      }
      if (req.method === 'DELETE' && (m = /^\/api\/Spaces-1\/machines\/([^/]+)$/.exec(path))) {
        const i = api.machines.findIndex((x) => x.id === m![1]);
        if (i < 0) return json(res, 404, { ErrorMessage: 'not found', Errors: [] });
        api.deleted.push(api.machines[i]!.id);
        api.machines.splice(i, 1);
        return json(res, 200, {});
      }
      return json(res, 404, { ErrorMessage: `No route for ${req.method} ${path}`, Errors: [] });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return api;
}

const identity = { identity: { thumbprint: THUMBPRINT }, subscriptionId: 'poll://abcdefghijklmnopqrst/' } as unknown as FleetIdentity;

async function setup(t: Test, postMode: (n: number) => PostMode, over: { timeoutMs?: number; lostAnswerRetryDelayMs?: number } = {}) {
  const api = await startFakeApi(postMode);
  const events: PollfleetEvent[] = [];
  const lines: string[] = [];
  const ledgerFile = join(t.testdir(), 'ledger.json');
  const reg = new SyntheticRegistrar({
    apiUrl: api.url,
    apiKey: API_KEY,
    space: 'Spaces-1',
    spec: { count: 1, environment: 'Test', roles: ['pollfleet-synthetic'], namePrefix: 'pollfleet-synthetic-', ratePerSecond: 100, machinePolicyId: null, ledgerFile, force: false },
    concurrency: 2,
    sink: (e) => events.push(e),
    log: (l) => lines.push(l),
    timeoutMs: over.timeoutMs ?? 5_000,
    lostAnswerRetries: 2,
    lostAnswerRetryDelayMs: over.lostAnswerRetryDelayMs ?? 50,
  });
  t.teardown(async () => {
    await reg.cleanup();
    await api.close();
  });
  const registrations = () => events.filter((e): e is RegistrationEvent => e.type === 'registration');
  const retryLines = () => lines.filter((l) => / trying again in /.test(l));
  return { api, reg, events, lines, ledger: new Ledger(ledgerFile), registrations, retryLines };
}

t.test('the first POST is lost before anything is created: the retry registers, one machine', async (t) => {
  const { api, reg, ledger, registrations, retryLines, lines } = await setup(t, (n) => (n === 1 ? 'drop' : 'ok'));
  await reg.register(0, identity);
  t.equal(api.count('POST', '/machines'), 2, 'posted again after the lookup found nothing');
  t.equal(api.count('GET', '/machines'), 2, 'each attempt looked the name up first');
  t.equal(api.machines.length, 1, 'one machine');
  t.equal(retryLines().length, 1, 'one line for the retry');
  t.match(retryLines()[0], new RegExp(`registration of ${reg.nameOf(0)}: no answer .*retry 1 of 2`));
  t.notOk(lines.join('\n').includes(API_KEY), 'no key in the log');
  t.same(ledger.entries().map((e) => e.machineId), [api.machines[0]!.id], 'the ledger has its id');
  t.match(registrations(), [{ ok: true, machineId: api.machines[0]!.id, lostAnswerRetries: 1 }], 'one registration event, a success after one retry');
  t.equal(registrations().length, 1);
  t.equal(registrations()[0]!.adopted, undefined, 'posted, not adopted');
  t.equal(reg.lostAnswerRetries, 1);
  t.equal(reg.adopted, 0);
  const out = await reg.cleanup();
  t.same(out.deleted, [reg.nameOf(0)]);
  t.same(api.machines, [], 'deleted');
});

t.test('the server created the machine but the answer was lost: the retry adopts it, never posts twice', async (t) => {
  const { api, reg, ledger, registrations, lines } = await setup(t, (n) => (n === 1 ? 'create-then-drop' : 'ok'));
  await reg.register(0, identity);
  t.equal(api.count('POST', '/machines'), 1, 'no second POST');
  t.equal(api.count('GET', '/machines'), 2, 'the retry looked the name up');
  t.equal(api.machines.length, 1, 'exactly one machine');
  const id = api.machines[0]!.id;
  t.same(ledger.entries().map((e) => e.machineId), [id], 'the ledger has the adopted id');
  t.same(reg.machines.get(0), { machineId: id, spaceId: 'Spaces-1' });
  t.match(registrations(), [{ ok: true, machineId: id, lostAnswerRetries: 1, adopted: true }]);
  t.equal(registrations().length, 1);
  t.equal(reg.adopted, 1);
  t.ok(lines.some((l) => l.includes(`adopted, not posted again`)), 'the adoption is logged');
  const out = await reg.cleanup();
  t.ok(lines.includes('registration: 1 lost answer(s) tried again, 1 machine(s) the server had created adopted'), 'the sum at clean-up');
  t.same(out.deleted, [reg.nameOf(0)]);
  t.same(api.deleted, [id], 'clean-up deleted exactly it');
  t.equal(api.count('DELETE', id), 1);
});

t.test('no answer in time (the server created it): the retry adopts it', async (t) => {
  const { api, reg, ledger } = await setup(t, (n) => (n === 1 ? 'create-then-hang' : 'ok'), { timeoutMs: 400 });
  await reg.register(0, identity);
  t.equal(api.count('POST', '/machines'), 1, 'no second POST');
  t.equal(api.machines.length, 1);
  t.same(ledger.entries().map((e) => e.machineId), [api.machines[0]!.id]);
  t.equal(reg.adopted, 1);
});

t.test('HTTP 500: no retry, the failure as before, nothing left in the ledger', async (t) => {
  const { api, reg, ledger, registrations, retryLines } = await setup(t, () => 'http-500');
  const err = (await reg.register(0, identity).catch((e: unknown) => e)) as PollfleetError;
  t.equal(err.kind, 'registration.failed');
  t.equal(err.status, 500);
  t.equal(api.count('POST', '/machines'), 1, 'one POST');
  t.equal(retryLines().length, 0);
  t.same(ledger.entries(), [], 'an HTTP answer proves nothing was created');
  t.match(registrations(), [{ ok: false, status: 500 }]);
  t.equal(registrations()[0]!.lostAnswerRetries, undefined, 'no retries counted');
  t.equal(registrations().length, 1);
});

t.test('every answer lost: gives up after the retries, the entry stays pending for clean-up', async (t) => {
  const { api, reg, ledger, registrations, retryLines } = await setup(t, () => 'drop');
  const err = (await reg.register(0, identity).catch((e: unknown) => e)) as PollfleetError;
  t.equal(err.kind, 'registration.failed');
  t.equal(err.status, undefined);
  t.ok(isLostAnswer(err));
  t.equal(api.count('POST', '/machines'), 3, 'the first try and two retries');
  t.equal(retryLines().length, 2);
  t.match(err.message, /\(no answer in 3 tries\)$/);
  t.match(registrations(), [{ ok: false, message: err.message, lostAnswerRetries: 2 }], 'one failure event for the tentacle, two retries');
  t.equal(registrations().length, 1);
  const entries = ledger.entries();
  t.equal(entries.length, 1);
  t.notOk(entries[0]!.machineId, 'pending: no machine id');
  const out = await reg.cleanup();
  t.same(out.alreadyGone, [reg.nameOf(0)], 'clean-up looked it up by name: nothing there');
  t.equal(api.count('DELETE', ''), 0);
});

t.test('a machine of that name with another thumbprint: not adopted, not replaced, fails as before', async (t) => {
  const { api, reg } = await setup(t, (n) => (n === 1 ? 'foreign-then-drop' : 'ok'));
  const err = (await reg.register(0, identity).catch((e: unknown) => e)) as PollfleetError;
  t.match(err.message, /already exists/);
  t.equal(api.count('GET', '/machines'), 2, 'the retry looked the name up');
  t.equal(api.count('POST', '/machines'), 1, 'no second POST');
  t.equal(api.count('PUT', ''), 0, 'not replaced');
  t.equal(api.machines[0]!.thumbprint, OTHER_THUMBPRINT, 'untouched');
  t.equal(reg.adopted, 0);
  // The entry stays pending (an answer was lost); clean-up finds the name, but not with this
  // run's thumbprint: someone else's machine, never deleted.
  const out = await reg.cleanup();
  t.same(api.deleted, [], 'clean-up deleted nothing');
  t.equal(api.machines.length, 1, 'the other machine is still there');
  t.same(out.alreadyGone, [reg.nameOf(0)], 'this run\'s machine counts as never created');
});

t.test('clean-up during the wait before a retry: no retry, the registration rejects at once', async (t) => {
  const { api, reg } = await setup(t, () => 'drop', { lostAnswerRetryDelayMs: 30_000 });
  const t0 = performance.now();
  const p = reg.register(0, identity).catch((e: unknown) => e);
  for (let i = 0; i < 200 && api.count('POST', '/machines') === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  await reg.cleanup();
  const err = (await p) as PollfleetError;
  t.ok(isLostAnswer(err), 'the lost answer is the error');
  t.ok(performance.now() - t0 < 10_000, 'did not wait out the delay');
  t.equal(api.count('POST', '/machines'), 1, 'no retry');
  t.equal(reg.lostAnswerRetries, 0, 'none counted');
});

t.test('isLostAnswer: only a request without an HTTP answer', async (t) => {
  const socket = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
  const timeout = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  t.ok(isLostAnswer(new PollfleetError('registration.failed', 'x', { cause: socket })));
  t.ok(isLostAnswer(new PollfleetError('registration.failed', 'x', { cause: timeout })));
  t.notOk(isLostAnswer(new PollfleetError('registration.failed', 'x', { cause: refused })), 'the request never left');
  t.notOk(isLostAnswer(new PollfleetError('registration.failed', 'x', { cause: socket, status: 502 })), 'an HTTP answer');
  t.notOk(isLostAnswer(new PollfleetError('registration.failed', 'a machine named "x" already exists')));
  t.notOk(isLostAnswer(new PollfleetError('api.unauthorized', 'x', { status: 401 })));
  t.notOk(isLostAnswer(new PollfleetError('internal', 'the run is stopping')));
  t.notOk(isLostAnswer(socket), 'not ours');
});
