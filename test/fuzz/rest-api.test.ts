/**
 * Fuzzing the embedded REST API over a real socket (plain HTTP, loopback): hostile requests --
 * wrong JSON types in every field of the machine registration body, invalid JSON, deep
 * nesting, bodies over the size limit, wrong or missing content types, missing and forged API
 * keys, unknown methods and paths, odd URL encodings, malformed request lines. Every request is
 * answered within a bound, never with a 5xx, and every refusal is a JSON error
 * (`ErrorMessage`); afterwards a valid request still succeeds.
 */
import net from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import { MemoryRegistry } from '../../src/cluster/memory-machine-registry.js';
import { RestApi } from '../../src/cluster/rest-api.js';
import { CLUSTER_DEFAULTS } from '../../src/scenario/defaults.js';
import { API_KEY } from '../helpers/cluster.js';
import { fuzzParams } from '../helpers/fuzz.js';

const THUMBPRINT = 'A'.repeat(40);
/** A request must be answered (and its connection closed) within this. */
const ANSWER_BOUND_MS = 5_000;
const MAX_BODY = CLUSTER_DEFAULTS.restMaxBodyBytes;

const api = new RestApi({
  nodeName: 'node1', host: '127.0.0.1', port: 0, apiKey: API_KEY, spaceId: 'Spaces-1', registry: new MemoryRegistry(),
  serverThumbprint: THUMBPRINT, isDraining: () => false,
});
const port = await api.listen();
t.teardown(() => api.close(1_000));

interface Answer {
  status: number;
  headers: string;
  body: string;
}

/** Send `bytes` on a fresh connection and read the whole answer (the request asks the server to close). */
function raw(bytes: Buffer | Buffer[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer within ${ANSWER_BOUND_MS} ms`));
    }, ANSWER_BOUND_MS);
    const done = () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(all);
      if (!m) return reject(new Error(`not an HTTP answer: ${JSON.stringify(all.slice(0, 200))}`));
      resolve({ status: Number(m[1]), headers: m[2]!, body: Buffer.from(m[3]!, 'latin1').toString('utf8') });
    };
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', done);
    // The server may close while a refused body is still being written: what it answered counts.
    s.on('error', () => {});
    for (const b of Array.isArray(bytes) ? bytes : [bytes]) s.write(b);
  });
}

interface Req {
  method: string;
  path: string;
  headers: [string, string][];
  body: Buffer | null;
  /** Send the body chunked (no Content-Length). */
  chunkedBody: boolean;
}

function encode(r: Req): Buffer {
  const head = [`${r.method} ${r.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...r.headers.map(([k, v]) => `${k}: ${v}`)];
  if (r.body && r.chunkedBody) head.push('Transfer-Encoding: chunked');
  else if (r.body) head.push(`Content-Length: ${r.body.length}`);
  const start = Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1');
  if (!r.body) return start;
  if (!r.chunkedBody) return Buffer.concat([start, r.body]);
  if (r.body.length === 0) return Buffer.concat([start, Buffer.from('0\r\n\r\n')]);
  return Buffer.concat([start, Buffer.from(`${r.body.length.toString(16)}\r\n`), r.body, Buffer.from('\r\n0\r\n\r\n')]);
}

/** Fail unless the answer is a bounded non-5xx, and a refusal carries a JSON error. */
function check(req: { method: string }, a: Answer): void {
  if (a.status >= 500) throw new Error(`answered ${a.status}: ${a.body.slice(0, 300)}`);
  if (a.status < 200) throw new Error(`answered ${a.status}`);
  if (req.method === 'HEAD' || a.status === 204) return;
  if (!/content-type: application\/json/i.test(a.headers) && !(a.status === 200 && a.body === '')) throw new Error(`not JSON (${a.status}): ${a.headers}`);
  if (a.status >= 400) {
    const body = JSON.parse(a.body) as { ErrorMessage?: unknown; Errors?: unknown };
    if (typeof body.ErrorMessage !== 'string' || !Array.isArray(body.Errors)) throw new Error(`no JSON error (${a.status}): ${a.body.slice(0, 300)}`);
  } else if (a.body !== '') JSON.parse(a.body);
}

/** The node still serves: a valid authorised request succeeds. */
async function stillServes(): Promise<void> {
  const a = await raw(encode({ method: 'GET', path: '/api/Spaces-1/environments', headers: [['X-Octopus-ApiKey', API_KEY]], body: null, chunkedBody: false }));
  if (a.status !== 200) throw new Error(`a valid request afterwards answered ${a.status}`);
}

let registrations = 0;
function validBody(): Record<string, unknown> {
  registrations++;
  return {
    Name: `web-${registrations}`, EnvironmentIds: ['Environments-1'], Roles: ['web'],
    Endpoint: { CommunicationStyle: 'TentacleActive', Thumbprint: THUMBPRINT.toLowerCase(), Uri: `poll://sub${registrations}/` },
  };
}

const deep = (n: number, open = '[', close = ']') => open.repeat(n) + close.repeat(n);

/** JSON text of any type, including values that are hard on a parser or on an error message (kept as text: too deep to stringify). */
const arbHostileJson: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc.constantFrom<unknown>(null, 0, -1, 1e308, true, '', ' ', 'x'.repeat(5_000), [], {}, [null], ['Environments-1', 7], 'poll://a/', 'TentacleActive').map((v) => JSON.stringify(v)),
  fc.constantFrom('{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}'),
  fc.nat({ max: 50_000 }).map((n) => deep(n)),
  fc.nat({ max: 50_000 }).map((n) => `[${deep(n)}]`),
);

const FIELDS = ['Name', 'EnvironmentIds', 'Roles', 'Endpoint', 'Endpoint.CommunicationStyle', 'Endpoint.Thumbprint', 'Endpoint.Uri'] as const;

/** A registration body with one or more fields replaced or removed. */
const arbBadRegistration: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.constantFrom(...FIELDS), fc.option(arbHostileJson, { freq: 5 })), { minLength: 1, maxLength: 3 })
  .map((edits) => {
    const b = validBody() as Record<string, any>;
    const texts: string[] = [];
    for (const [field, text] of edits) {
      const v = text === null ? null : `\u0000hostile-${texts.push(text) - 1}`;
      const [a, c] = field.split('.') as [string, string | undefined];
      const target = c ? (typeof b[a] === 'object' && b[a] !== null ? b[a] : (b[a] = {})) : b;
      const key = c ?? a;
      if (v === null) delete target[key];
      else target[key] = v;
    }
    return JSON.stringify(b).replace(/"\\u0000hostile-(\d+)"/g, (_, i: string) => texts[Number(i)]!);
  });

const arbBody: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 5, arbitrary: arbBadRegistration.map((s) => Buffer.from(s)) },
  arbHostileJson.map((v) => Buffer.from(v)),
  fc.constant(null).map(() => Buffer.from(JSON.stringify(validBody()))),
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.constantFrom(
    Buffer.from('{"Name": '), Buffer.from(deep(200_000)), Buffer.from(deep(100_000, '{"a":', '}').replace(/\}+$/, (m) => m)), Buffer.from('\ufeff{}'),
    Buffer.from(`{"Name":"${'n'.repeat(MAX_BODY)}"}`), Buffer.from('[' + '1,'.repeat(MAX_BODY / 4) + '1]'),
    Buffer.from(JSON.stringify({ ...validBody(), EnvironmentIds: Array.from({ length: 50_000 }, (_, i) => `E-${i}`) })),
  ),
);

const ROUTES = [
  '/api', '/api/', '/API', '/api/spaces', '/api/spaces/Spaces-1', '/api/Spaces-1', '/api/Spaces-1/environments', '/api/Spaces-1/environments/all',
  '/api/Spaces-1/environments/Environments-1', '/api/Spaces-1/machines', '/api/Spaces-1/machines/Machines-1', '/api/users/me',
  '/api/serverstatus/redis', '/api/configuration/certificates/certificate-global', '/api/octopusservernodes/ping', '/api/Spaces-9/machines',
];
const ODD_PATHS = [
  '/api/%2e%2e/api', '/api/Spaces-1/machines/%ZZ', '/api/Spaces-1/machines/%00', '/api/Spaces-1%2Fmachines', '//api//Spaces-1//machines//',
  '/api/Spaces-1/machines?take=-1&skip=1e999', '/api/Spaces-1/machines?take=NaN&name=%FF', '/api?apikey=', `/api?apikey=${API_KEY}&apikey=x`,
  '*', 'http://[', 'http://x:99999/api', 'api', '/api/Spaces-1/machines/' + 'M'.repeat(6_000), '/%', '/api/\u00e9', '/api/Spaces-1/machines#frag',
  '/api/Spaces-1/machines?thumbprint=' + '%'.repeat(30), '/api/spaces/Spaces-1/../../api',
];

const arbPath = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ROUTES) },
  fc.constantFrom(...ODD_PATHS),
  fc.tuple(fc.constantFrom(...ROUTES), fc.string({ maxLength: 12 })).map(([r, s]) => r + encodeURI(s).replace(/%25/g, '%')),
);

const arbKey = fc.oneof(
  { weight: 4, arbitrary: fc.constant<[string, string][]>([['X-Octopus-ApiKey', API_KEY]]) },
  fc.constant<[string, string][]>([]),
  fc.constantFrom<[string, string][]>(
    [['X-Octopus-ApiKey', '']], [['X-Octopus-ApiKey', API_KEY.toLowerCase()]], [['X-Octopus-ApiKey', API_KEY + ' ']], [['X-Octopus-ApiKey', 'API-' + 'X'.repeat(32)]],
    [['X-Octopus-ApiKey', API_KEY], ['X-Octopus-ApiKey', 'forged']], [['X-Octopus-ApiKey', 'x'.repeat(7_000)]], [['X-Octopus-ApiKey', '\u00ff\u00fe']],
    [['Authorization', `Bearer ${API_KEY}`]],
  ),
  fc.string({ maxLength: 40 }).filter((s) => !/[\r\n]/.test(s)).map((s): [string, string][] => [['X-Octopus-ApiKey', s]]),
);

const arbContentType = fc.oneof(
  fc.constant<[string, string][]>([['Content-Type', 'application/json']]),
  fc.constantFrom<[string, string][]>([], [['Content-Type', 'text/plain']], [['Content-Type', 'multipart/form-data; boundary=x']], [['Content-Type', 'application/json; charset=utf-16']],
    [['Content-Type', '']], [['Content-Type', 'application/json'], ['Content-Type', 'text/xml']], [['Content-Encoding', 'gzip']]),
);

const arbMethod = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE') }, fc.constantFrom('PUT', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'FOO', 'get', ''));

const arbReq: fc.Arbitrary<Req> = fc.record({
  method: arbMethod,
  path: arbPath,
  headers: fc.tuple(arbKey, arbContentType).map(([k, c]) => [...k, ...c]),
  body: fc.option(arbBody, { freq: 4 }),
  chunkedBody: fc.boolean(),
});

/** Requests Node's own parser has to refuse. */
const MALFORMED = [
  'GET /api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' + `X-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
  'GET /api HTTP/9.9\r\nConnection: close\r\n\r\n',
  'GARBAGE\r\n\r\n',
  'POST /api/Spaces-1/machines HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
  'POST /api/Spaces-1/machines HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: -1\r\n\r\n',
  'POST /api/Spaces-1/machines HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n',
  'GET /api HTTP/1.1\r\nHost: x\r\nConnection: close\r\nBad Header\r\n\r\n',
  'GET /a\u0000pi HTTP/1.1\r\nConnection: close\r\n\r\n',
].map((s) => Buffer.from(s, 'latin1'));

t.test('hostile requests get a bounded, non-5xx answer, refusals a JSON error, and the node keeps serving', async (t) => {
  await fc.assert(
    fc.asyncProperty(arbReq, async (req) => {
      check(req, await raw(encode(req)));
      await stillServes();
    }),
    { ...fuzzParams(120), interruptAfterTimeLimit: 12_000 },
  );
  t.pass('every request answered');
});

t.test('requests Node itself refuses are answered with a JSON error too', async (t) => {
  for (const bytes of MALFORMED) {
    const a = await raw(bytes);
    t.ok(a.status >= 400 && a.status < 500, `${JSON.stringify(bytes.toString('latin1').slice(0, 40))}: ${a.status}`);
    t.type(JSON.parse(a.body).ErrorMessage, 'string');
  }
  await stillServes();
});

/** Requests that once crashed a handler, lost their answer or echoed a value whole: each now a fixed case. */
t.test('regressions: each request once answered badly', async (t) => {
  const key: [string, string][] = [['X-Octopus-ApiKey', API_KEY], ['Content-Type', 'application/json']];
  const post = (body: string, chunkedBody = false): Req => ({ method: 'POST', path: '/api/Spaces-1/machines', headers: key, body: Buffer.from(body), chunkedBody });
  const cases: { name: string; req: Buffer; status: number; match?: RegExp; maxBody?: number }[] = [
    // Node emitted 'connect' with no listener and dropped the socket without an answer.
    { name: 'CONNECT', req: encode({ method: 'CONNECT', path: '/api/Spaces-1/environments/Environments-1', headers: key, body: Buffer.from('y'), chunkedBody: true }), status: 405 },
    // new URL() threw on an absolute-form target: 500.
    { name: 'absolute URL that does not parse', req: encode({ method: 'GET', path: 'http://[', headers: key, body: null, chunkedBody: false }), status: 400 },
    // The unknown environment was echoed with JSON.stringify: stack overflow, 500.
    { name: 'deeply nested environment id', req: encode(post(JSON.stringify({ ...validBody(), EnvironmentIds: ['\u0000deep'] }).replace('"\\u0000deep"', deep(200_000)))), status: 400, match: /EnvironmentIds: unknown environment an array/, maxBody: 2_000 },
    // ... and a huge one was echoed whole in the answer.
    { name: 'huge environment id', req: encode(post(JSON.stringify({ ...validBody(), EnvironmentIds: ['e'.repeat(500_000)] }))), status: 400, match: /a string of 500000 characters/, maxBody: 2_000 },
    // One error per bad element: an answer many times the request.
    { name: 'many bad roles', req: encode(post(JSON.stringify({ ...validBody(), Roles: Array.from({ length: 90_000 }, () => 1) }))), status: 400, maxBody: 2_000 },
    // The body over the limit destroyed the socket: the 413 never arrived.
    { name: 'declared body over the limit', req: Buffer.from(`POST /api/Spaces-1/machines HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Octopus-ApiKey: ${API_KEY}\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`), status: 413 },
    { name: 'chunked body over the limit', req: encode(post(`"${'z'.repeat(MAX_BODY)}"`, true)), status: 413 },
    // Node's parser answered a bare 400 without a JSON error.
    { name: 'malformed request line', req: Buffer.from('GARBAGE\r\n\r\n'), status: 400 },
  ];
  for (const c of cases) {
    const a = await raw(c.req);
    t.equal(a.status, c.status, c.name);
    const body = JSON.parse(a.body) as { ErrorMessage: string; Errors: string[] };
    t.type(body.ErrorMessage, 'string', `${c.name}: a JSON error`);
    if (c.match) t.match(body.Errors.join('\n'), c.match, `${c.name}: the message`);
    if (c.maxBody) t.ok(a.body.length <= c.maxBody, `${c.name}: the answer is small (${a.body.length} chars)`);
  }
  await stillServes();
});
