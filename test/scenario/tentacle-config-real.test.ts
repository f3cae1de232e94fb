/**
 * import-config reads what a real Tentacle.config holds: the Kubernetes agent (style 11),
 * style 0 fixed up to 1, a null SubscriptionId with the legacy Squid (a comment only), the
 * polling proxy settings (the proxy route), and an out-of-range PollingConnectionCount coerced.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { spawnCli } from '../helpers/run.js';
import { loadScenarioFile } from '../../src/scenario/loader.js';
import { parseTentacleConfig, scenarioYamlFromTentacleConfig, TRUSTED_SERVERS_KEY } from '../../src/scenario/tentacle-config.js';

const THUMB = '77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6';
const enc = (v: unknown) => JSON.stringify(v).replace(/"/g, '&quot;');
function config(servers: unknown[], extra = ''): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n  <set key="${TRUSTED_SERVERS_KEY}">${enc(servers)}</set>\n${extra}</octopus-settings>\n`;
}
const polling = (address: string, over: Record<string, unknown> = {}) => ({ Thumbprint: THUMB, CommunicationStyle: 2, Address: address, Squid: null, SubscriptionId: 'poll://abcdefghjkmnpqrstuvw/', ...over });
const yamlOf = (text: string) => scenarioYamlFromTentacleConfig(parseTentacleConfig(text, 'T.config'), 'T.config');

t.test('CommunicationStyle 11 (the Kubernetes agent) is polled; 0 is treated as 1 (listening)', async (t) => {
  const cfg = parseTentacleConfig(config([
    polling('https://k8s.example.com:10943', { CommunicationStyle: 11 }),
    polling('https://k8s2.example.com:10943', { CommunicationStyle: 'KubernetesTentacle', KubernetesTentacleCommunicationMode: 'Polling' }),
    polling('https://k8s3.example.com:10933', { CommunicationStyle: 11, KubernetesTentacleCommunicationMode: 'Listening' }),
    polling('https://old.example.com:10933', { CommunicationStyle: 0 }),
  ]), 'T.config');
  t.same(cfg.pollingServers.map((s) => [s.address, s.kubernetes]), [['https://k8s.example.com:10943', true], ['https://k8s2.example.com:10943', true]]);
  t.equal(cfg.listeningServers, 2, 'the listening agent and the style-0 entry');
  const yaml = scenarioYamlFromTentacleConfig(cfg, 'T.config');
  t.match(yaml, /# Note: 2 polled entries are the Kubernetes agent \(CommunicationStyle 11\)/);
  t.match(yaml, /# Note: 1 entry has CommunicationStyle 0 \(None\), which the Tentacle treats as 1 \(listening\): not polled\./);
  t.match(yaml, /profile: kubernetes-agent/, 'a Kubernetes agent imports as the agent profile (registered as KubernetesTentacle)');
  t.match(yaml, /pollingConnectionCount: 5/, "with the agent's 5 polling connections when the file sets none");
});

t.test('a null SubscriptionId with Octopus.Communications.Squid: the poll://<squid>/ subscription is a comment only', async (t) => {
  const yaml = yamlOf(config([polling('https://a:10943', { SubscriptionId: null, Squid: 'SQ-OLDSERVER-1234' })],
    '<set key="Octopus.Communications.Squid">SQ-MYTENTACLE-ABCD</set>\n'));
  t.match(yaml, /^# Entries without a SubscriptionId poll as poll:\/\/sq-mytentacle-abcd\/ \(from Octopus\.Communications\.Squid/m);
  t.notMatch(yaml, /Squid proxy/, 'Squid is not called a proxy');
  const doc = parse(yaml) as Record<string, unknown>;
  t.notMatch(JSON.stringify(doc), /sq-mytentacle|SQ-MYTENTACLE|SQ-OLDSERVER/i, 'the squid is nowhere in the scenario itself');
  t.notMatch(JSON.stringify(doc), /subscription/i);
});

t.test('the polling proxy settings become the proxy route; the password never leaves the file', async (t) => {
  const proxySettings = [
    '<set key="Octopus.Server.Proxy.UseDefaultProxy">False</set>',
    '<set key="Octopus.Server.Proxy.ProxyHost">proxy.corp.example</set>',
    '<set key="Octopus.Server.Proxy.ProxyPort">3128</set>',
    '<set key="Octopus.Server.Proxy.ProxyUsername">svc-tentacle</set>',
    '<set key="Octopus.Server.Proxy.ProxyPassword">$OctopusMachineKeyV1$SECRETBLOB</set>',
  ].join('\n') + '\n';
  const yaml = yamlOf(config([polling('https://a:10943')], proxySettings));
  const doc = parse(yaml) as { route: unknown };
  t.same(doc.route, { kind: 'proxy', proxy: { url: 'http://proxy.corp.example:3128', username: 'svc-tentacle', passwordEnv: 'POLLFLEET_PROXY_PASSWORD' } });
  t.notMatch(yaml, /SECRETBLOB|OctopusMachineKey/, 'the (encrypted) password is never written');
  t.match(yaml, /# The Tentacle polls through the HTTP proxy proxy\.corp\.example:3128: the proxy route below is used:/);
  t.match(yaml, /# Set POLLFLEET_PROXY_PASSWORD to the proxy password/);

  // No username: no username or passwordEnv; no port: 80, said so.
  const anon = parse(yamlOf(config([polling('https://a:10943')],
    '<set key="Octopus.Server.Proxy.UseDefaultProxy">false</set><set key="Octopus.Server.Proxy.ProxyHost">10.1.2.3</set>\n'))) as { route: unknown };
  t.same(anon.route, { kind: 'proxy', proxy: { url: 'http://10.1.2.3:80' } });

  // The imported scenario loads as a proxy route through the user's proxy (it runs: test/e2e/external/proxy-external.test.ts).
  const dir = t.testdir();
  const file = join(dir, 'imported.yaml');
  writeFileSync(file, yaml);
  const loaded = loadScenarioFile(file);
  t.equal(loaded.kind === 'scenario' ? loaded.scenario.route.kind : null, 'proxy');
  t.match(loaded.kind === 'scenario' ? loaded.scenario.route.proxy : null, { program: 'none', host: 'proxy.corp.example', port: 3128, username: 'svc-tentacle' });
});

t.test('UseDefaultProxy: the system proxy cannot be read from the file -- said so, no route', async (t) => {
  const yaml = yamlOf(config([polling('https://a:10943')], '<set key="Octopus.Server.Proxy.UseDefaultProxy">True</set>\n'));
  t.match(yaml, /# Note: the Tentacle uses the system proxy \(Octopus\.Server\.Proxy\.UseDefaultProxy\),\n# which cannot be read from this file/);
  t.notOk('route' in (parse(yaml) as object));
  // A host next to UseDefaultProxy true is ignored by the Tentacle (ProxyConfigParser checks UseDefaultProxy first).
  const withHost = yamlOf(config([polling('https://a:10943')], '<set key="Octopus.Server.Proxy.ProxyHost">p</set>\n'));
  t.match(withHost, /it ignores Octopus\.Server\.Proxy\.ProxyHost p/);
  t.notOk('route' in (parse(withHost) as object));
  // Nothing set: no proxy, no note.
  t.notMatch(yamlOf(config([polling('https://a:10943')])), /proxy/i);
});

t.test('PollingConnectionCount out of range is coerced into 1..512 with a note, as the Tentacle does', async (t) => {
  for (const [given, used] of [['0', 1], ['-4', 1], ['600', 512], ['512', 512]] as const) {
    const cfg = parseTentacleConfig(config([polling('https://a:10943')], `<set key="Tentacle.Communication.PollingConnectionCount">${given}</set>\n`), 'T.config');
    t.equal(cfg.pollingConnectionCount, used, `${given} -> ${used}`);
    const yaml = scenarioYamlFromTentacleConfig(cfg, 'T.config');
    t.equal((parse(yaml) as { fleet: { pollingConnectionCount: number } }).fleet.pollingConnectionCount, used);
    if (String(used) === given) t.notMatch(yaml, /coerces/);
    else t.match(yaml, new RegExp(`# Note: Tentacle\\.Communication\\.PollingConnectionCount is ${given}: the Tentacle coerces it into 1\\.\\.512, so it opens ${used} connection`));
  }
});

t.test('the command: a broken file exits 2 naming the file and the field; a good one writes the route', async (t) => {
  const dir = t.testdir();
  const broken = join(dir, 'broken.config');
  writeFileSync(broken, config([polling('https://a:10943', { CommunicationStyle: 7 })]));
  const bad = spawnCli(['import-config', broken]);
  const exit = await bad.exited(30_000);
  t.equal(exit.code, 2, bad.stderr());
  t.match(bad.stderr(), `${broken}: ${TRUSTED_SERVERS_KEY}[0].CommunicationStyle: unknown value 7`);

  const good = join(dir, 'proxy.config');
  writeFileSync(good, config([polling('https://a:10943', { CommunicationStyle: 11 })],
    '<set key="Octopus.Server.Proxy.UseDefaultProxy">False</set><set key="Octopus.Server.Proxy.ProxyHost">p.example</set><set key="Octopus.Server.Proxy.ProxyPort">8080</set>\n'));
  const out = join(dir, 'imported.yaml');
  const ok = spawnCli(['import-config', good, '-o', out]);
  t.equal((await ok.exited(30_000)).code, 0, ok.stderr());
  t.match(ok.stderr(), /the proxy route/, 'the command says the proxy route is used');
});
