import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineNames, startExternalCluster, writeExternalScenario } from '../../helpers/real-target.js';
import { spawnCli } from '../../helpers/run.js';

// external.healthChecks against `pollfleet cluster` used strictly as a real cluster: pollfleet
// queues health-check tasks for the synthetic machines it registered (POST /api/tasks), reads
// them back, and measures per node the time to the first request reaching a machine. The
// cluster queues no work of its own (--no-workload), so every request that arrives is a task's.
t.setTimeout(200_000);
const KEY_ENV = 'PF_HEALTH_KEY';

t.test('health-check tasks through the REST API reach the synthetic tentacles and are reported', async (t) => {
  const dir = t.testdir();
  const { state } = await startExternalCluster(t, dir, 2, ['--no-workload']);
  const file = writeExternalScenario(
    join(dir, 'health.yaml'),
    state,
    { apiKeyEnv: KEY_ENV, register: { environment: 'Test', ratePerSecond: 5, ledger: join(dir, 'ledger.json') }, healthChecks: { every: '3s' } },
    { name: 'health', duration: '10s', fleet: { tentacles: 3, rampUp: '1s' } },
  );
  const out = join(dir, 'out');
  const p = spawnCli(['run', file, '-o', out, '--format', 'md'], { env: { [KEY_ENV]: state.apiKey } });
  const { code } = await p.exited(150_000);
  t.equal(code, 0, `the run passes (stderr: ${p.stderr().slice(-600)})`);
  const r = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
    healthChecks: { tasks: number; states: Record<string, number>; perNode: Record<string, { tasks: number; firstRequestMs: { count: number; p99: number }; withoutRequest: number }>; requestsSeen: Record<string, number>; errors: string[] };
  };
  const h = r.healthChecks;
  t.ok(h.tasks >= 2, `${h.tasks} tasks queued, one every 3 s`);
  t.same(h.errors, [], 'every task queued and read back');
  t.ok((h.states['Success'] ?? 0) >= 1, `the server finished tasks: ${JSON.stringify(h.states)}`);
  const nodes = Object.keys(h.perNode);
  t.ok(nodes.every((n) => n === 'node1' || n === 'node2'), `tasks ran on the cluster's nodes: ${nodes.join(', ')}`);
  t.ok(Object.values(h.perNode).some((n) => n.firstRequestMs.count > 0), 'a task request reached a synthetic tentacle, timed');
  t.ok(Object.keys(h.requestsSeen).some((k) => /^IScriptServiceV\d*\.StartScript$|CapabilitiesService/.test(k)), `what arrived: ${JSON.stringify(h.requestsSeen)}`);
  t.match(readFileSync(join(out, 'report.md'), 'utf8'), /Health checks \(every 3 s\)/);
  t.same((await machineNames(state)).filter((n) => n.startsWith('pollfleet-synthetic-')), [], 'the synthetic machines were deleted');
});

t.test('health checks without register are refused: a real machine is never named in a task', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 's.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, 'target: external\nexternal:\n  nodes: [{ polling: "127.0.0.1:1" }]\n  thumbprint: ' + 'A'.repeat(40) + '\n  identity: { cert: c.pem, key: k.pem }\n  healthChecks: { every: 2m }\n');
  const p = spawnCli(['run', file, '--plan']);
  t.equal((await p.exited(30_000)).code, 2);
  t.match(p.stderr(), /external\.healthChecks: health checks are queued for the synthetic machines pollfleet registers/);
});
