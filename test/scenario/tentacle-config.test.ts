import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PollfleetError } from '../../src/core/errors.js';
import { loadScenarioFile } from '../../src/scenario/loader.js';
import { parseOctopusSettings, parseTentacleConfig, scenarioYamlFromTentacleConfig, TRUSTED_SERVERS_KEY } from '../../src/scenario/tentacle-config.js';
import { PROJECT_ROOT } from '../helpers/run.js';

const SAMPLE = join(PROJECT_ROOT, 'test', 'fixtures', 'Tentacle.config');
const THUMB = '77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6';

function config(servers: string, extra = ''): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n  <set key="${TRUSTED_SERVERS_KEY}">${servers}</set>\n${extra}</octopus-settings>\n`;
}

function errorOf(fn: () => unknown): PollfleetError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PollfleetError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

t.test('the sample config: three polling entries, thumbprint, subscription id, connection count', async (t) => {
  const cfg = parseTentacleConfig(readFileSync(SAMPLE, 'utf8'), SAMPLE);
  t.equal(cfg.pollingServers.length, 3);
  t.same(cfg.pollingServers.map((s) => s.address), ['https://10.0.255.160:10943', 'https://10.0.255.161:10943', 'https://10.0.255.162:10943']);
  t.ok(cfg.pollingServers.every((s) => s.thumbprint === THUMB && s.subscriptionId === 'poll://g3662re9njtelsyfhm7t/' && s.squid === null));
  t.equal(cfg.pollingConnectionCount, 2);
  t.equal(cfg.settings.get('Octopus.Home'), 'C:\\Octopus', 'other settings are kept as text');

  // The written scenario loads as an external target with exactly those entries.
  const dir = t.testdir();
  const file = join(dir, 'imported.yaml');
  const yaml = scenarioYamlFromTentacleConfig(cfg, SAMPLE, 'imported');
  t.match(yaml, /apiKeyEnv/, 'tells the user to add the API key variable');
  t.match(yaml, /identity/, 'tells the user to add an identity');
  writeFileSync(file, yaml);
  const loaded = loadScenarioFile(file);
  if (loaded.kind !== 'scenario') throw new Error('expected a scenario');
  const s = loaded.scenario;
  t.equal(s.target, 'external');
  t.same(s.external!.nodes.map((n) => `${n.host}:${n.port}`), ['10.0.255.160:10943', '10.0.255.161:10943', '10.0.255.162:10943']);
  t.ok(s.external!.nodes.every((n) => n.thumbprint === THUMB));
  t.notOk('subscriptionId' in s.external!, 'the real subscription is no scenario field');
  t.notMatch(yaml, /^\s*subscriptionId:/m, 'no subscriptionId field in the YAML');
  t.match(yaml, /^# .*poll:\/\/g3662re9njtelsyfhm7t\/.*never sent/m, 'only a comment names it');
  t.equal(s.fleet.pollingConnectionCount, 2);
});

t.test('only polling entries are kept; enum names are accepted; entities decode', async (t) => {
  const servers = JSON.stringify([
    { Thumbprint: THUMB, CommunicationStyle: 'TentacleActive', Address: 'https://a.example.com:10943/', Squid: null, SubscriptionId: 'poll://abc/' },
    { Thumbprint: THUMB, CommunicationStyle: 1, Address: 'https://b.example.com:10933', Squid: null, SubscriptionId: null },
    { Thumbprint: THUMB.toLowerCase(), CommunicationStyle: 'TentaclePassive', Address: 'c:10933' },
    { Thumbprint: THUMB, CommunicationStyle: 2, Address: 'd.example.com', SubscriptionId: 'poll://abc/' },
  ]).replace(/"/g, '&quot;');
  const cfg = parseTentacleConfig(config(servers), 'x.config');
  t.equal(cfg.pollingServers.length, 2);
  t.equal(cfg.listeningServers, 2);
  const yaml = scenarioYamlFromTentacleConfig(cfg, 'x.config');
  t.match(yaml, /a\.example\.com:10943/);
  t.match(yaml, /d\.example\.com:10943/, 'the polling port is the default when the address has none');
  t.match(yaml, /2 listening \(TentaclePassive\) entries were left out/);
  t.same([...parseOctopusSettings('<octopus-settings><set key="k">a &lt;b&gt; &amp; &apos;c&apos; &#65;&#x42;</set></octopus-settings>', 'y').values()], ["a <b> & 'c' AB"]);
});

t.test('broken configs get one clear error naming what is wrong', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['bad XML: unclosed set', '<octopus-settings><set key="a">x</octopus-settings>', /line 1: <set key="a"> is never closed/],
    ['bad XML: wrong root', '<?xml version="1.0"?>\n<configuration></configuration>', /line 2: expected <octopus-settings>, found <configuration>/],
    ['bad XML: truncated', '<octopus-settings>\n<set key="a">x</set>\n', /ends before <\/octopus-settings>/],
    ['bad XML: unknown entity', config('[]').replace('[]', '&nbsp;'), /line 3: unknown XML entity &nbsp;/],
    ['bad XML: bare ampersand', config('a & b'), /a bare "&"/],
    ['empty file', '', /the file is empty/],
    ['bad JSON inside', config('[{&quot;Thumbprint&quot;:'), new RegExp(`${TRUSTED_SERVERS_KEY.replace(/\./g, '\\.')} is not valid JSON`)],
    ['JSON not an array', config('{}'), /expected a JSON array, got object/],
    ['unknown CommunicationStyle', config(JSON.stringify([{ Thumbprint: THUMB, CommunicationStyle: 3, Address: 'https://a:10943' }]).replace(/"/g, '&quot;')),
      /TrustedOctopusServers\[0\]\.CommunicationStyle: unknown value 3/],
    ['unknown style name', config(JSON.stringify([{ Thumbprint: THUMB, CommunicationStyle: 'Ssh', Address: 'https://a:10943' }]).replace(/"/g, '&quot;')),
      /CommunicationStyle: unknown value "Ssh"/],
    ['bad thumbprint', config(JSON.stringify([{ Thumbprint: 'XYZ', CommunicationStyle: 2, Address: 'https://a:10943' }]).replace(/"/g, '&quot;')),
      /\[0\]\.Thumbprint: expected 40 hex characters, got "XYZ"/],
    ['no trusted servers', '<octopus-settings><set key="Octopus.Home">/x</set></octopus-settings>', /no Tentacle\.Communication\.TrustedOctopusServers setting/],
    ['bad connection count', config('[]', '<set key="Tentacle.Communication.PollingConnectionCount">two</set>\n'), /PollingConnectionCount: expected a whole number, got "two"/],
    ['bad proxy port', config('[]', '<set key="Octopus.Server.Proxy.UseDefaultProxy">False</set><set key="Octopus.Server.Proxy.ProxyHost">proxy</set><set key="Octopus.Server.Proxy.ProxyPort">99999</set>\n'),
      /Octopus\.Server\.Proxy\.ProxyPort: expected a port from 1 to 65535, got "99999"/],
    ['bad UseDefaultProxy', config('[]', '<set key="Octopus.Server.Proxy.UseDefaultProxy">maybe</set>\n'), /Octopus\.Server\.Proxy\.UseDefaultProxy: expected True or False/],
    ['duplicate key', '<octopus-settings><set key="a">1</set><set key="a">2</set></octopus-settings>', /key a is set twice/],
  ];
  for (const [name, text, re] of cases) {
    const e = errorOf(() => parseTentacleConfig(text, 'bad.config'));
    t.equal(e.kind, 'input.invalid', `${name}: kind`);
    t.match(e.message, /^bad\.config: /, `${name}: names the file`);
    t.match(e.message, re, `${name}: ${e.message}`);
  }
  const listeningOnly = parseTentacleConfig(config(JSON.stringify([{ Thumbprint: THUMB, CommunicationStyle: 1, Address: 'https://a:10933' }]).replace(/"/g, '&quot;')), 'l.config');
  t.match(errorOf(() => scenarioYamlFromTentacleConfig(listeningOnly, 'l.config')).message, /no polling entries .*1 listening entry is not polled/);
});

t.test('more polling entries than a scenario may test: refused when importing, not when the scenario is run', async (t) => {
  const entries = (n: number) => config(JSON.stringify(Array.from({ length: n }, (_, i) => ({ Thumbprint: THUMB, CommunicationStyle: 2, Address: `https://octo${i}.example.com:10943/`, SubscriptionId: `poll://abcdefghijklmnopqrst/` }))).replace(/"/g, '&quot;'));
  t.match(scenarioYamlFromTentacleConfig(parseTentacleConfig(entries(100), 'ok.config'), 'ok.config'), /octo99\.example\.com/, '100 entries: imported');
  const e = errorOf(() => scenarioYamlFromTentacleConfig(parseTentacleConfig(entries(101), 'many.config'), 'many.config'));
  t.match(e.message, /^many\.config: .*TrustedOctopusServers has 101 polling entries; a scenario tests at most 100 nodes/);
});
