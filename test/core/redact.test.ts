import t from 'tap';
import { REDACTED, redact, redactText } from '../../src/core/redact.js';

t.test('passwords inside URLs', async (t) => {
  t.equal(redactText('redis://:s3cretPw@10.0.0.1:6379/0'), `redis://:${REDACTED}@10.0.0.1:6379/0`);
  t.equal(redactText('via http://alice:pa55word@proxy.local:3128 now'), `via http://alice:${REDACTED}@proxy.local:3128 now`);
  t.equal(redactText('rediss://default:x%40y@h'), `rediss://default:${REDACTED}@h`);
  t.equal(redactText('https://octopus.example.com:8443/api?apikey=API-ABCDEFGHIJKLMNOP&x=1'), `https://octopus.example.com:8443/api?apikey=${REDACTED}&x=1`);
  t.equal(redactText('http://host:8080/path@thing'), 'http://host:8080/path@thing', 'a port is not a password');
  t.equal(redactText('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379', 'no credentials, unchanged');
});

t.test('keys, headers and private key material', async (t) => {
  t.equal(redactText('key API-ABCDEFGHIJKLMNOPQRSTUVWXYZ1 here'), `key API-${REDACTED} here`);
  t.equal(redactText('X-Octopus-ApiKey: abc123def'), `X-Octopus-ApiKey: ${REDACTED}`);
  t.equal(redactText('{"X-Octopus-ApiKey":"abc123def"}'), `{"X-Octopus-ApiKey":"${REDACTED}"}`);
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----';
  t.equal(redactText(`a ${pem} b`), `a -----BEGIN RSA PRIVATE KEY-----${REDACTED}-----END RSA PRIVATE KEY----- b`);
  t.notMatch(redactText('-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEAcutoff'), 'MIIEow', 'a cut-off block too');
  const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
  t.equal(redactText(cert), cert, 'certificates are public');
  t.equal(redactText('the word hunter2 in text', ['hunter2']), `the word ${REDACTED} in text`, 'literal secrets the caller knows');
  t.equal(redactText('abc', ['', null, undefined, 'ab']), 'abc', 'too short or empty literals are ignored');
});

t.test('objects: nested strings and secret-named fields; the input is untouched', async (t) => {
  const input = {
    cluster: { redisUrl: 'redis://:pw1234@127.0.0.1:1', nodes: 3 },
    external: { apiKeyEnv: 'OCTOPUS_API_KEY', apiKeyFile: '/run/key', identity: { key: 'tentacle.key', passphraseEnv: 'PF_PASS' }, apiKey: 'plain-key-value', password: 'p', passphrase: 'pp' },
    list: ['http://u:p4ss@h', { token: 'tok', enabled: true }],
    when: new Date(0),
    n: null,
  };
  const out = redact(input);
  t.same(out, {
    cluster: { redisUrl: `redis://:${REDACTED}@127.0.0.1:1`, nodes: 3 },
    external: { apiKeyEnv: 'OCTOPUS_API_KEY', apiKeyFile: '/run/key', identity: { key: 'tentacle.key', passphraseEnv: 'PF_PASS' }, apiKey: REDACTED, password: REDACTED, passphrase: REDACTED },
    list: [`http://u:${REDACTED}@h`, { token: REDACTED, enabled: true }],
    when: new Date(0),
    n: null,
  });
  t.equal(input.cluster.redisUrl, 'redis://:pw1234@127.0.0.1:1', 'input not modified');
  const e = redact(new Error('connect to redis://:pw1234@h failed'));
  t.equal(e.message, `connect to redis://:${REDACTED}@h failed`);
  t.notMatch(e.stack ?? '', 'pw1234');
  const cyclic: Record<string, unknown> = { a: 'x' };
  cyclic['self'] = cyclic;
  t.same(redact(cyclic), { a: 'x', self: undefined }, 'a cycle ends');
  t.equal(redact(redact(input)).cluster.redisUrl, out.cluster.redisUrl, 'idempotent');
});

t.test('text a peer chose cannot drive the terminal: control characters and bidi overrides become visible escapes', async (t) => {
  // A proxy's reason phrase, a node's error text: set the window title, colour, overwrite "FAIL" with CR, reverse text.
  const hostile = 'refused (403 \u001b]0;owned\u0007\u001b[32mok\u001b[0m)\rPASS \u202eLIAF\u202c \u009b2J';
  const out = redactText(hostile);
  // eslint-disable-next-line no-control-regex -- looking for control characters
  t.notMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, 'no control or bidi character left');
  t.equal(out, 'refused (403 \\x1b]0;owned\\x07\\x1b[32mok\\x1b[0m)\\x0dPASS \\u202eLIAF\\u202c \\x9b2J');
  t.equal(redactText('line one\n\tline two é ü ✓'), 'line one\n\tline two é ü ✓', 'newline, tab and printable Unicode untouched');
  t.equal(redactText(out), out, 'idempotent');
  t.equal(redact({ diagnosis: ['node1: \u001b[2Jgone'] }).diagnosis[0], 'node1: \\x1b[2Jgone', 'in a Result too');
});
