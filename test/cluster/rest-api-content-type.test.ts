/**
 * The embedded REST API takes JSON bodies only: a body with another Content-Type (or a
 * charset other than UTF-8) gets 415 in the JSON error form; JSON types (application/json,
 * application/*+json, text/json) and a body without a Content-Type are read as before.
 */
import t from 'tap';
import { MemoryRegistry } from '../../src/cluster/memory-machine-registry.js';
import { RestApi } from '../../src/cluster/rest-api.js';
import { API_KEY } from '../helpers/cluster.js';

const api = new RestApi({
  nodeName: 'node1', host: '127.0.0.1', port: 0, apiKey: API_KEY, spaceId: 'Spaces-1', registry: new MemoryRegistry(),
  serverThumbprint: 'A'.repeat(40), isDraining: () => false,
});
const port = await api.listen();
t.teardown(() => api.close(1_000));

let n = 0;
const body = () => JSON.stringify({
  Name: `ct-${++n}`, EnvironmentIds: ['Environments-1'], Roles: ['r'],
  Endpoint: { CommunicationStyle: 'TentacleActive', Thumbprint: 'B'.repeat(40), Uri: `poll://ct${n}abcdefghijklmnop/` },
});

async function post(contentType: string | null, text = body()): Promise<{ status: number; json: { ErrorMessage?: string; Errors?: string[] }; type: string | null }> {
  const headers: Record<string, string> = { 'X-Octopus-ApiKey': API_KEY };
  if (contentType !== null) headers['Content-Type'] = contentType;
  const r = await fetch(`http://127.0.0.1:${port}/api/Spaces-1/machines`, { method: 'POST', headers, body: Buffer.from(text) });
  return { status: r.status, json: (await r.json()) as { ErrorMessage?: string; Errors?: string[] }, type: r.headers.get('content-type') };
}

t.test('a non-JSON content type gets 415 with the JSON error form', async (t) => {
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=utf-16', 'application/jsonx', '', 'json']) {
    const r = await post(ct);
    t.equal(r.status, 415, `${JSON.stringify(ct)}: 415`);
    t.match(r.type, /^application\/json/, `${JSON.stringify(ct)}: answered in JSON`);
    t.match(r.json.ErrorMessage, /must be JSON/, `${JSON.stringify(ct)}: ErrorMessage`);
    t.match(r.json.Errors?.[0], /is not supported: send application\/json/, `${JSON.stringify(ct)}: Errors names what to send`);
  }
});

t.test('JSON content types, and no content type, are accepted', async (t) => {
  for (const ct of ['application/json', 'application/json; charset=utf-8', 'Application/JSON; charset="UTF-8"', 'application/vnd.octopus+json', 'text/json', null]) {
    const r = await post(ct);
    t.equal(r.status, 201, `${JSON.stringify(ct)}: created`);
  }
});

t.test('the body limit still comes first, and the connection keeps serving', async (t) => {
  const r = await post('text/plain', 'x'.repeat(2 * 1024 * 1024));
  t.equal(r.status, 413, 'an oversized body of the wrong type: 413');
  t.equal((await post('application/json')).status, 201, 'a valid request afterwards');
});
