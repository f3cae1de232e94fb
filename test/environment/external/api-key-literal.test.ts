/**
 * The API key that was read (--api-key, an environment variable, a key file, a cluster.json)
 * becomes a literal of every redaction step: hidden even where it appears without the API-
 * shape the patterns recognise (a key of another form, a key cut into a longer word).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { clearRegisteredSecrets, redact, redactText } from '../../../src/core/redact.js';
import { resolveApiKey } from '../../../src/environment/external/api-key-source.js';

t.afterEach(() => clearRegisteredSecrets());

const SHAPELESS = ['correct-horse-battery-staple-42', 'k3y_without_any_shape', 'API_not-the-usual/form=='];

t.test('a key read from any source is redacted as a literal, whatever its shape', async (t) => {
  const dir = t.testdir();
  for (const [i, key] of SHAPELESS.entries()) {
    const keyFile = join(dir, `key-${i}.txt`);
    writeFileSync(keyFile, `# key\n${key}\n`, { mode: 0o600 });
    const clusterJson = join(dir, `cluster-${i}.json`);
    writeFileSync(clusterJson, JSON.stringify({ apiKey: key, spaceId: 'Spaces-1', nodes: [] }, null, 2), { mode: 0o600 });
    const sources: [string, () => unknown][] = [
      ['--api-key', () => resolveApiKey({ apiKeyEnv: null, apiKeyFile: null }, key)],
      ['environment variable', () => resolveApiKey({ apiKeyEnv: 'PF_KEY', apiKeyFile: null }, undefined, { PF_KEY: key })],
      ['key file', () => resolveApiKey({ apiKeyEnv: null, apiKeyFile: keyFile })],
      ['cluster.json', () => resolveApiKey({ apiKeyEnv: null, apiKeyFile: clusterJson })],
    ];
    for (const [from, read] of sources) {
      clearRegisteredSecrets();
      t.ok(redactText(`x ${key} y`).includes(key), `${from}: before the key is read its shape is not recognised (the test is meaningful)`);
      const r = read() as { key: string };
      t.equal(r.key, key, `${from}: the key is read`);
      const text = `GET /api with header ${key}; url https://octo/?k=${key}; glued:${key}${key}`;
      t.notOk(redactText(text).includes(key), `${from}: redactText hides it`);
      const obj = redact({ note: text, list: [key, { deep: `a${key}b` }] });
      t.notOk(JSON.stringify(obj).includes(key), `${from}: redact() hides it in every string of an object`);
      const err = redact({ e: new Error(`refused ${key}`) }) as { e: Error };
      t.notOk(err.e.message.includes(key) || (err.e.stack ?? '').includes(key), `${from}: and in errors`);
    }
  }
});

t.test('a short key is not registered (it would blank out ordinary words), and other text is untouched', async (t) => {
  resolveApiKey({ apiKeyEnv: 'PF_KEY', apiKeyFile: null }, undefined, { PF_KEY: 'abc' });
  t.equal(redactText('abc def'), 'abc def');
  resolveApiKey({ apiKeyEnv: 'PF_KEY', apiKeyFile: null }, undefined, { PF_KEY: 'long-enough-key' });
  t.equal(redactText('coverage 100 %, long-enough-key here'), 'coverage 100 %, *** here');
});

t.test('a cluster.json as the key file: its apiKey field; anything else is one exit-2 error naming the file and field', async (t) => {
  const dir = t.testdir();
  const cases: [string, RegExp][] = [
    ['{"apiKey": 5}', /cluster-bad\.json: apiKey: expected the API key \(a string\), got number/],
    ['{"nodes": []}', /apiKey: expected the API key \(a string\), got nothing \(the field is missing\)/],
    ['{"apiKey": ""}', /apiKey: expected the API key/],
    ['{ not json', /not a cluster\.json file \(not valid JSON\)/],
    ['{"apiKey": null}', /got null/],
  ];
  for (const [text, re] of cases) {
    const f = join(dir, 'cluster-bad.json');
    writeFileSync(f, text, { mode: 0o600 });
    t.throws(() => resolveApiKey({ apiKeyEnv: null, apiKeyFile: f }), { kind: 'input.invalid', message: re }, text);
  }
});
