import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { isGeneratedSubscriptionId } from '../../../src/halibut/subscription.js';
import { writeIdentity } from '../../../src/pki/load.js';
import { HOST, startClusterNode, testCertificates } from '../../helpers/cluster.js';
import { spawnCli } from '../../helpers/run.js';

// A Tentacle.config whose polling entry has SubscriptionId null: the real Tentacle polls as
// poll://<Octopus.Communications.Squid, lower case>/. import-config records that only as a
// comment, and a run from the imported scenario never claims it on the wire (asserted on the
// identity lines the node receives), even while a real machine holds it.
t.setTimeout(120_000);

const SQUID = 'SQ-MYTENTACLE-A1B2C3';
const SQUID_SUB = `poll://${SQUID.toLowerCase()}/`;
const TENTACLES = 3;

t.test('a null SubscriptionId with a Squid: the squid subscription is a comment, never sent', async (t) => {
  const dir = t.testdir();
  const { tentacle } = await testCertificates();
  const n = await startClusterNode();
  t.teardown(() => n.close());
  await n.registry.register({ name: 'real-machine', spaceId: 'Spaces-1', environmentIds: ['Environments-1'], roles: ['web'], thumbprint: tentacle.thumbprint, subscriptionId: SQUID_SUB });
  const servers = JSON.stringify([{ Thumbprint: n.server.thumbprint, CommunicationStyle: 2, Address: `https://${HOST}:${n.pollingPort}`, Squid: null, SubscriptionId: null }]).replace(/"/g, '&quot;');
  const config = join(dir, 'Tentacle.config');
  writeFileSync(config, `<octopus-settings>\n<set key="Octopus.Communications.Squid">${SQUID}</set>\n<set key="Tentacle.Communication.TrustedOctopusServers">${servers}</set>\n</octopus-settings>\n`);
  const imported = join(dir, 'imported.yaml');
  const imp = spawnCli(['import-config', config, '-o', imported]);
  t.equal((await imp.exited(30_000)).code, 0, imp.stderr());
  const text = readFileSync(imported, 'utf8');
  t.match(text, new RegExp(`^# Entries without a SubscriptionId poll as ${SQUID_SUB.replace(/\//g, '\\/')}`, 'm'), 'named in a comment');

  const { certFile, keyFile } = writeIdentity(join(dir, 'tentacle'), tentacle);
  const body = parse(text) as Record<string, Record<string, unknown>>;
  const file = join(dir, 'run.yaml');
  writeFileSync(file, stringify({
    ...body,
    external: { ...body['external'], identity: { cert: certFile, key: keyFile } },
    fleet: { ...body['fleet'], tentacles: TENTACLES, pollingConnectionCount: 1, rampUp: '0s' },
    duration: '2s',
    timeouts: { pollingQueueWait: '1s', connectTimeout: '3s', receiveTimeout: '5s', heartbeatTimeout: '5s' },
    backoff: { min: '200ms', max: '1s' },
  }));
  const from = n.events.length;
  const p = spawnCli(['run', file, '-o', join(dir, 'out'), '--format', 'md']);
  const { code } = await p.exited(60_000);
  t.equal(code, 0, `ran and passed (stderr: ${p.stderr()})`);
  const subs = n.events.slice(from).flatMap((e) => (e.type === 'node-identified' ? [e.subscription] : []));
  t.ok(subs.length >= TENTACLES, `the node saw identity lines (${subs.length})`);
  t.notOk(subs.includes(SQUID_SUB), 'the squid subscription was never claimed');
  t.equal(new Set(subs).size, TENTACLES, 'one fresh subscription per tentacle');
  t.ok(subs.every(isGeneratedSubscriptionId));
});
