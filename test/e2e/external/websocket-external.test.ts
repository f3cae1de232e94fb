import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { spawnCli } from '../../helpers/run.js';
import { waitFor } from '../../helpers/wait.js';
import { writeExternalScenario, type ClusterJson } from '../../helpers/real-target.js';

const KEY_ENV = 'POLLFLEET_TEST_WSS_KEY';

// A real Windows Tentacle can poll wss://host:443/OctopusComms: the same works against an
// external target, given only the addresses, thumbprint and key a real server would give.
t.test('an external run polls wss://.../OctopusComms addresses', async (t) => {
  const dir = t.testdir();
  const cluster = spawnCli(['cluster', '--state-dir', dir, '--polling-port', '0', '--nodes', '2', '--api-https', '--polling-queue-wait', '2s', '--workload-interval', '1s']);
  t.teardown(async () => {
    cluster.child.kill('SIGTERM');
    await cluster.exited(20_000).catch(() => cluster.child.kill('SIGKILL'));
  });
  const stateFile = join(dir, 'cluster.json');
  await waitFor(() => (existsSync(stateFile) ? true : undefined), 40_000, 'cluster.json');
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as ClusterJson;
  process.env[KEY_ENV] = state.apiKey;
  const file = writeExternalScenario(
    join(dir, 'wss.yaml'),
    state,
    {
      nodes: state.nodes.map((n) => ({ name: n.name, polling: `wss://${new URL(n.apiUrl).host}/OctopusComms`, api: n.apiUrl })),
      apiKeyEnv: KEY_ENV,
      apiTlsVerify: false, // the embedded cluster's HTTPS API has a self-signed certificate
      register: { count: 2, environment: 'Test', ratePerSecond: 5, ledger: join(dir, 'ledger.json') },
    },
    { name: 'wss', duration: '4s', fleet: { rampUp: '0s' } },
  );
  const out = join(dir, 'out');
  const run = spawnCli(['run', file, '-o', out, '--format', 'md']);
  const { code } = await run.exited(90_000);
  t.equal(code, 0, `the run passes (stderr: ${run.stderr()})`);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
    summary: { pairs: number; coveredPairs: number; errors: Record<string, number> };
    nodes: { address: string }[];
  };
  t.equal(result.summary.pairs, 4);
  t.equal(result.summary.coveredPairs, 4, 'both synthetic tentacles identified on both nodes over WebSockets');
  t.match(result.nodes[0]!.address, /^wss:\/\/.*\/OctopusComms$/, 'the report names the wss address');
  t.notOk(run.stdout().includes(state.apiKey) || run.stderr().includes(state.apiKey), 'the key is never printed');
});
