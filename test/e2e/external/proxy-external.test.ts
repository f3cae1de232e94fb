import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ConnectProxySimulator } from '../../../src/network/connect-proxy-simulator.js';
import { TRUSTED_SERVERS_KEY } from '../../../src/scenario/tentacle-config.js';
import { filesContaining, machineNames, startExternalCluster } from '../../helpers/real-target.js';
import { spawnCli } from '../../helpers/run.js';

// A real Tentacle that polls through an HTTP proxy (Tentacle.config Octopus.Server.Proxy.*):
// import-config turns it into a proxy-route scenario, and that scenario runs against
// `pollfleet cluster` used strictly as a real cluster, polling and registering through the
// CONNECT proxy the user runs (here the simulator, with Basic authentication).
t.setTimeout(200_000);
const KEY_ENV = 'PF_XPROXY_KEY';
const PASSWORD = 'pr0xy-S3cret-value';

t.test('an imported proxy-route scenario polls and registers through the proxy', async (t) => {
  const dir = t.testdir();
  const { state } = await startExternalCluster(t, dir, 2);
  const proxy = new ConnectProxySimulator({ name: 'user-proxy', host: '127.0.0.1', port: 0, auth: { username: 'svc-tentacle', password: PASSWORD } });
  const port = await proxy.start();
  t.teardown(() => proxy.stop());

  const enc = (v: unknown) => JSON.stringify(v).replace(/"/g, '&quot;');
  const servers = state.nodes.map((n) => ({ Thumbprint: state.serverThumbprint, CommunicationStyle: 2, Address: `https://${n.pollingHost}:${n.pollingPort}`, Squid: null, SubscriptionId: 'poll://abcdefghjkmnpqrstuvw/' }));
  const configFile = join(dir, 'Tentacle.config');
  writeFileSync(configFile, [
    '<?xml version="1.0" encoding="utf-8"?>', '<octopus-settings>',
    `  <set key="${TRUSTED_SERVERS_KEY}">${enc(servers)}</set>`,
    '  <set key="Octopus.Server.Proxy.UseDefaultProxy">False</set>',
    '  <set key="Octopus.Server.Proxy.ProxyHost">127.0.0.1</set>',
    `  <set key="Octopus.Server.Proxy.ProxyPort">${port}</set>`,
    '  <set key="Octopus.Server.Proxy.ProxyUsername">svc-tentacle</set>',
    '</octopus-settings>', ''].join('\n'));
  const imported = join(dir, 'imported.yaml');
  const imp = spawnCli(['import-config', configFile, '-o', imported]);
  t.equal((await imp.exited(30_000)).code, 0, imp.stderr());

  // As a user would: add what the file cannot hold (the API, synthetic machines to register), shorten the run.
  const s = parse(readFileSync(imported, 'utf8')) as Record<string, unknown>;
  t.same(s['route'], { kind: 'proxy', proxy: { url: `http://127.0.0.1:${port}`, username: 'svc-tentacle', passwordEnv: 'POLLFLEET_PROXY_PASSWORD' } }, 'the proxy route from the file');
  s['external'] = { ...(s['external'] as object), apiUrl: state.nodes[0]!.apiUrl, space: state.spaceId, apiKeyEnv: KEY_ENV, apiTlsVerify: false, register: { environment: 'Test', ratePerSecond: 5, ledger: join(dir, 'ledger.json') } };
  s['fleet'] = { tentacles: 2, rampUp: '1s' };
  s['duration'] = '5s';
  s['timeouts'] = { pollingQueueWait: '2s', connectTimeout: '3s', receiveTimeout: '5s', heartbeatTimeout: '5s' };
  const file = join(dir, 'run.yaml');
  writeFileSync(file, stringify(s));

  const out = join(dir, 'out');
  const p = spawnCli(['run', file, '-o', out, '--format', 'md'], { env: { [KEY_ENV]: state.apiKey, POLLFLEET_PROXY_PASSWORD: PASSWORD } });
  const { code } = await p.exited(150_000);
  t.equal(code, 0, `the run passes (stderr: ${p.stderr().slice(-800)})`);
  const r = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { summary: { pairs: number; coveredPairs: number; registrationMs: { count: number } } };
  t.same([r.summary.pairs, r.summary.coveredPairs], [4, 4], 'every pair polled through the proxy');
  t.equal(r.summary.registrationMs.count, 2, 'both synthetic machines registered through it');
  const st = proxy.stats();
  t.ok(st.tunnels >= 4 + 2, `the proxy carried the polling connections and the registrations (${st.tunnels} tunnels)`);
  t.equal(st.authRequired, 0, 'with the credentials from the file and the environment');
  t.same((await machineNames(state)).filter((n) => n.startsWith('pollfleet-synthetic-')), [], 'the synthetic machines were deleted');
  t.same(filesContaining(out, PASSWORD), [], 'the proxy password is in no file');
  t.notOk(p.stdout().includes(PASSWORD) || p.stderr().includes(PASSWORD), 'nor in any output');
});

t.test('an external proxy route needs the url of the proxy the user runs', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 's.yaml');
  writeFileSync(file, `target: external\nroute: { kind: proxy, proxy: { program: simulator } }\nexternal:\n  nodes: [{ polling: "127.0.0.1:1" }]\n  thumbprint: ${'A'.repeat(40)}\n  identity: { cert: c.pem, key: k.pem }\n`);
  const p = spawnCli(['run', file, '--plan']);
  t.equal((await p.exited(30_000)).code, 2);
  t.match(p.stderr(), /route\.proxy\.url: against a real cluster pollfleet polls through the proxy you run/);
});
