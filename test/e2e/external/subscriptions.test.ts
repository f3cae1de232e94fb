import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { isGeneratedSubscriptionId } from '../../../src/halibut/subscription.js';
import { writeIdentity } from '../../../src/pki/load.js';
import { API_KEY, HOST, startClusterNode, testCertificates } from '../../helpers/cluster.js';
import { PROJECT_ROOT, spawnCli } from '../../helpers/run.js';

// A run from an imported Tentacle.config against a node on loopback: the real machine's
// subscription (from the config) is never claimed on the wire -- with a given identity
// and with synthetic registration -- and N tentacles identify with N distinct
// subscriptions. Asserted on the identity lines the NODE receives (its events).
t.setTimeout(120_000);

const SAMPLE = join(PROJECT_ROOT, 'test', 'fixtures', 'Tentacle.config');
const REAL_SUB = 'poll://g3662re9njtelsyfhm7t/';
const SAMPLE_TP = '77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6';
const TENTACLES = 4;
const KEY_ENV = 'PF_SUBSCRIPTIONS_KEY';

t.test('an imported Tentacle.config never sends its subscription; a fresh one per tentacle', async (t) => {
  const dir = t.testdir();
  const { tentacle } = await testCertificates();
  const n = await startClusterNode();
  t.teardown(() => n.close());
  // The "real machine" of the config: trusted by thumbprint, queued work under REAL_SUB.
  await n.registry.register({ name: 'real-machine', spaceId: 'Spaces-1', environmentIds: ['Environments-1'], roles: ['web'], thumbprint: tentacle.thumbprint, subscriptionId: REAL_SUB });
  // The sample config, pointed at the loopback node (its three entries all reach it).
  const config = join(dir, 'Tentacle.config');
  writeFileSync(config, readFileSync(SAMPLE, 'utf8').replace(/10\.0\.255\.16[0-2]:10943/g, `${HOST}:${n.pollingPort}`).replaceAll(SAMPLE_TP, n.server.thumbprint));
  const imported = join(dir, 'imported.yaml');
  const imp = spawnCli(['import-config', config, '-o', imported]);
  t.equal((await imp.exited(30_000)).code, 0, imp.stderr());
  t.notMatch(readFileSync(imported, 'utf8'), /^\s*subscriptionId:/m, 'no subscription field in the imported scenario');

  const { certFile, keyFile } = writeIdentity(join(dir, 'tentacle'), tentacle);
  const scenario = (name: string, external: Record<string, unknown>) => {
    const body = parse(readFileSync(imported, 'utf8')) as Record<string, Record<string, unknown>>;
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, stringify({
      ...body,
      name,
      external: { ...body['external'], ...external },
      fleet: { ...body['fleet'], tentacles: TENTACLES, pollingConnectionCount: 1, rampUp: '0s' },
      duration: '2s',
      timeouts: { pollingQueueWait: '1s', connectTimeout: '3s', receiveTimeout: '5s', heartbeatTimeout: '5s' },
      backoff: { min: '200ms', max: '1s' },
    }));
    return file;
  };
  const identifiedSince = (from: number) => n.events.slice(from).flatMap((e) => (e.type === 'node-identified' ? [e.subscription] : []));

  await t.test('a given identity: shared certificate, a fresh subscription per tentacle', async (t) => {
    const from = n.events.length;
    const p = spawnCli(['run', scenario('given', { identity: { cert: certFile, key: keyFile } }), '-o', join(dir, 'out-given'), '--format', 'md']);
    const { code } = await p.exited(60_000);
    t.equal(code, 0, `ran and passed (stderr: ${p.stderr()})`);
    // 2 s is far below a real node's 30 s queue wait: said before the run (this test node's wait is 1 s)
    t.match(p.stderr(), /warning: duration 2 s: an idle node sends a tentacle its first message only when its polling queue wait \(30 s by default\) runs out/);
    const subs = identifiedSince(from);
    t.ok(subs.length >= TENTACLES * 3, `the node saw identity lines (${subs.length})`);
    t.notOk(subs.includes(REAL_SUB), "the real machine's subscription was never claimed");
    t.equal(new Set(subs).size, TENTACLES, `${TENTACLES} tentacles, ${TENTACLES} distinct subscriptions`);
    t.ok(subs.every(isGeneratedSubscriptionId), 'each in the real generated form');
  });

  await t.test('with register: the synthetic machines\' subscriptions only', async (t) => {
    process.env[KEY_ENV] = API_KEY;
    const from = n.events.length;
    const p = spawnCli(['run', scenario('register', {
      apiUrl: `http://${HOST}:${n.apiPort}`,
      space: 'Spaces-1',
      apiKeyEnv: KEY_ENV,
      register: { environment: 'Test', ratePerSecond: 5, ledger: join(dir, 'ledger.json') },
    }), '-o', join(dir, 'out-register'), '--format', 'md']);
    const { code } = await p.exited(60_000);
    t.equal(code, 0, `ran and passed (stderr: ${p.stderr()})`);
    const subs = identifiedSince(from);
    t.ok(subs.length >= TENTACLES * 3, `the node saw identity lines (${subs.length})`);
    t.notOk(subs.includes(REAL_SUB), "the real machine's subscription was never claimed");
    t.equal(new Set(subs).size, TENTACLES, `${TENTACLES} synthetic machines, ${TENTACLES} distinct subscriptions`);
    t.same(n.registry.list('Spaces-1').map((m) => m.name), ['real-machine'], 'the synthetic machines were deleted again');
  });
});
