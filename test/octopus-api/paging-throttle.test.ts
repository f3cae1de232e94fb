/**
 * The REST client against a hand-made server: paging without a Page.Next link (TotalResults),
 * links under a virtual directory, an HTTP-date Retry-After, and a server that never stops
 * throttling (a clear "still throttled" error after the bounded retries, never "server down").
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import t from 'tap';
import { OctopusClient } from '../../src/octopus-api/octopus-client.js';
import { REGISTRATION_DEFAULTS } from '../../src/scenario/defaults.js';

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const ENVS = Array.from({ length: 5 }, (_, i) => ({ Id: `Environments-${i + 1}`, Name: `E${i + 1}` }));

t.test('no Page.Next link: pages by skip while fewer than TotalResults were read', async (t) => {
  const seen: string[] = [];
  const s = await serve((req, res) => {
    seen.push(req.url!);
    const u = new URL(req.url!, 'http://x');
    const skip = Number(u.searchParams.get('skip') ?? 0);
    json(res, 200, { TotalResults: ENVS.length, ItemsPerPage: 2, Items: ENVS.slice(skip, skip + 2) });
  });
  t.teardown(s.close);
  const envs = await new OctopusClient({ apiUrl: s.url, apiKey: 'API-X' }).environments('Spaces-1');
  t.same(envs.map((e) => e['Id']), ENVS.map((e) => e.Id), 'all five, in order');
  t.same(seen, ['/api/Spaces-1/environments', '/api/Spaces-1/environments?skip=2&take=2', '/api/Spaces-1/environments?skip=4&take=2']);
});

t.test('Page.Next links that include the virtual directory are not doubled', async (t) => {
  const seen: string[] = [];
  const s = await serve((req, res) => {
    seen.push(req.url!);
    const u = new URL(req.url!, 'http://x');
    const skip = Number(u.searchParams.get('skip') ?? 0);
    const next = skip + 2 < ENVS.length ? { 'Page.Next': `/octopus/api/Spaces-1/environments?skip=${skip + 2}&take=2` } : {};
    json(res, 200, { TotalResults: ENVS.length, Items: ENVS.slice(skip, skip + 2), Links: { Self: req.url, ...next } });
  });
  t.teardown(s.close);
  const envs = await new OctopusClient({ apiUrl: `${s.url}/octopus/`, apiKey: 'API-X' }).environments('Spaces-1');
  t.equal(envs.length, 5);
  t.ok(seen.every((p) => p.startsWith('/octopus/api/')), seen.join(' '));
});

t.test('Retry-After as an HTTP date is honoured; a server that never stops throttling gives a clear error', async (t) => {
  let n = 0;
  const s = await serve((req, res) => {
    n++;
    if (req.url === '/api/once' && n === 1) return json(res, 429, {}, { 'Retry-After': new Date(Date.now() + 1_500).toUTCString() });
    if (req.url === '/api/once') return json(res, 200, { ok: true });
    json(res, 429, { ErrorMessage: 'Too many requests' }, { 'Retry-After': '0' });
  });
  t.teardown(s.close);
  const c = new OctopusClient({ apiUrl: s.url, apiKey: 'API-X' });
  t.same(await c.call('once', 'GET', '/api/once'), { ok: true });
  t.equal(c.throttle.throttled, 1);
  t.ok(c.throttle.throttledWaitMs > 0 && c.throttle.throttledWaitMs <= 1_500, `waited ${c.throttle.throttledWaitMs} ms (until the date)`);

  const always = new OctopusClient({ apiUrl: s.url, apiKey: 'API-X', failureKind: 'registration.failed' });
  const err = (await always.call('spaces', 'GET', '/api/spaces').catch((e: unknown) => e)) as Error & { kind: string; status: number; hint: string };
  t.equal(err.kind, 'registration.failed');
  t.equal(err.status, 429);
  t.match(err.message, `returned HTTP 429: Too many requests (still throttled after ${REGISTRATION_DEFAULTS.throttleMaxRetries} waits`);
  t.match(err.hint, /rate-limits its REST API/);
  t.notMatch(err.message, /down|unreachable/i);
  t.equal(always.throttle.throttled, REGISTRATION_DEFAULTS.throttleMaxRetries);
});
