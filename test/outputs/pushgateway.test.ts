import t from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pushMetrics, pushgatewayUrl } from '../../src/outputs/pushgateway.js';
import { PollfleetError } from '../../src/core/errors.js';

const TIMEOUT_MS = 5_000;

async function gateway(t: { teardown(fn: () => unknown): void }, status: number, answer = '') {
  const seen: Array<{ method: string; url: string; type: string; body: string }> = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, type: String(req.headers['content-type']), body });
      res.writeHead(status).end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

t.test('PUTs the text to /metrics/job/pollfleet/instance/<name>', async (t) => {
  const gw = await gateway(t, 200);
  const body = '# HELP x y\n# TYPE x gauge\nx 1\n';
  const res = await pushMetrics({ url: `${gw.url}/`, instance: 'nightly check', body, timeoutMs: TIMEOUT_MS });
  t.equal(res.status, 200);
  t.same(gw.seen, [{ method: 'PUT', url: '/metrics/job/pollfleet/instance/nightly%20check', type: 'text/plain; version=0.0.4; charset=utf-8', body }]);
  await pushMetrics({ url: gw.url, instance: 'a/b', body, timeoutMs: TIMEOUT_MS, method: 'POST' });
  t.equal(gw.seen[1]!.method, 'POST');
  t.equal(gw.seen[1]!.url, `/metrics/job/pollfleet/instance@base64/${Buffer.from('a/b').toString('base64url')}`, "values with '/' are base64url");
});

t.test('a refusing gateway is a clear api.error with its answer', async (t) => {
  const gw = await gateway(t, 400, 'pushed metrics are invalid or inconsistent');
  await t.rejects(pushMetrics({ url: gw.url, instance: 'x', body: 'bad', timeoutMs: TIMEOUT_MS }), {
    name: 'PollfleetError',
    kind: 'api.error',
    message: /answered 400: pushed metrics are invalid or inconsistent/,
  });
});

t.test('bad URLs and unreachable gateways', async (t) => {
  t.throws(() => pushgatewayUrl('not a url', 'pollfleet', 'x'), { message: /is not a URL/ });
  t.throws(() => pushgatewayUrl('ftp://h', 'pollfleet', 'x'), { message: /must start with http/ });
  t.equal(pushgatewayUrl('http://user:pw@h:9091/base/', 'pollfleet', 'i'), 'http://user:pw@h:9091/base/metrics/job/pollfleet/instance/i');
  // A port nothing listens on (bound then closed).
  const closedUrl = await new Promise<string>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(`http://user:secret@127.0.0.1:${port}`));
    });
  });
  const e = await pushMetrics({ url: closedUrl, instance: 'x', body: '', timeoutMs: TIMEOUT_MS }).then(() => null, (x: unknown) => x);
  t.ok(e instanceof PollfleetError, 'rejects with a PollfleetError');
  t.equal((e as PollfleetError).kind, 'api.error');
  t.match((e as Error).message, /could not push metrics to the Pushgateway/);
  t.notMatch((e as Error).message, /secret/, 'credentials never printed');
});
