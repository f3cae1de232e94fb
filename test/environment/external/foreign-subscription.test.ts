import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PollfleetError } from '../../../src/core/errors.js';
import { sharedIdentity } from '../../../src/fleet/identity-pool.js';
import { isGeneratedSubscriptionId } from '../../../src/halibut/subscription.js';
import { generateCertificate } from '../../../src/pki/certificate.js';
import { loadScenarioFile } from '../../../src/scenario/loader.js';
import { parseTentacleConfig, scenarioYamlFromTentacleConfig } from '../../../src/scenario/tentacle-config.js';
import { PROJECT_ROOT, spawnCli } from '../../helpers/run.js';

// A subscription pollfleet did not create is never sent on the wire: a node hands a
// machine's queued work to whichever connection claims its subscription.
const SAMPLE = join(PROJECT_ROOT, 'test', 'fixtures', 'Tentacle.config');
const REAL_SUB = 'poll://g3662re9njtelsyfhm7t/';
const TP = '77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6';
const WHY = /never polls with a given subscription id.*health checks, deployment steps, file transfers.*answer it falsely or drop it/s;

function external(extra: string): string {
  return `target: external\nexternal:\n  nodes: [{ polling: "127.0.0.1:10943" }]\n  thumbprint: ${TP}\n  identity: { cert: t.pem, key: t.key }\n${extra}`;
}

t.test('external.subscriptionId in a scenario is refused with the reason', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 's.yaml');
  writeFileSync(file, external(`  subscriptionId: "${REAL_SUB}"\n`));
  let err: unknown;
  try {
    loadScenarioFile(file);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof PollfleetError, 'a PollfleetError');
  t.match((err as Error).message, /external\.subscriptionId/);
  t.match((err as Error).message, WHY);

  const p = spawnCli(['run', file, '--plan']);
  const { code } = await p.exited(30_000);
  t.equal(code, 2, 'exit 2, even for --plan');
  t.match(p.stderr(), WHY);
});

t.test('--subscription-id is refused with the reason (with flags and with a file)', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 's.yaml');
  writeFileSync(file, external(''));
  for (const args of [
    ['run', '--node', '127.0.0.1:10943', '--thumbprint', TP, '--cert', 't.pem', '--key', 't.key', '--subscription-id', REAL_SUB, '--plan'],
    ['run', file, '--subscription-id', REAL_SUB, '--plan'],
  ]) {
    const p = spawnCli(args);
    const { code } = await p.exited(30_000);
    t.equal(code, 2, `exit 2: ${args.join(' ')}`);
    t.match(p.stderr(), /--subscription-id/);
    t.match(p.stderr(), WHY);
  }
});

t.test('import-config keeps the real subscription as a comment only; the scenario loads without it', async (t) => {
  const yaml = scenarioYamlFromTentacleConfig(parseTentacleConfig(readFileSync(SAMPLE, 'utf8'), SAMPLE), SAMPLE);
  t.notMatch(yaml, /subscriptionId/i, 'no subscriptionId field');
  const mentions = yaml.split('\n').filter((l) => l.includes(REAL_SUB));
  t.ok(mentions.length > 0 && mentions.every((l) => l.startsWith('#')), 'mentioned in comments only');
  const dir = t.testdir();
  const file = join(dir, 'imported.yaml');
  writeFileSync(file, yaml);
  const loaded = loadScenarioFile(file);
  t.equal(loaded.kind, 'scenario');
});

t.test('a given identity: one certificate, a distinct fresh subscription per tentacle', async (t) => {
  const id = await generateCertificate({ commonName: 'Octopus Tentacle' });
  const ids = sharedIdentity(id, 5);
  t.equal(ids.length, 5);
  t.ok(ids.every((x) => x.identity.thumbprint === id.thumbprint), 'the same certificate');
  t.equal(new Set(ids.map((x) => x.subscriptionId)).size, 5, 'five subscriptions');
  t.ok(ids.every((x) => isGeneratedSubscriptionId(x.subscriptionId)), 'in the real poll://<20 chars>/ form');
});

t.test('--plan says a fresh subscription per tentacle', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 's.yaml');
  writeFileSync(file, external('fleet: { tentacles: 3 }\n'));
  const p = spawnCli(['run', file, '--plan']);
  const { code } = await p.exited(30_000);
  t.equal(code, 0, p.stderr());
  t.match(p.stdout(), /identities\s+the given certificate t\.pem, shared by 3 tentacle\(s\); a fresh subscription per tentacle/);
});
