import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnCli } from '../helpers/run.js';

// A node joins mid-run and the Kubernetes agents configured before it never poll it: its
// work expires and the diagnosis names the server list set at first launch.
t.setTimeout(180_000);

t.test('kubernetes agents never poll a node added after they were configured', async (t) => {
  const out = t.testdir();
  const plan = spawnCli(['run', 'scenarios/kubernetes-agent-node-added.yaml', '--plan']);
  t.equal((await plan.exited(30_000)).code, 0, plan.stderr());
  t.match(plan.stdout(), /6 Kubernetes agent\(s\) x 3 node\(s\) x 5 connection\(s\)/);
  t.match(plan.stdout(), /node-added\s+node3/);

  const p = spawnCli(['run', 'scenarios/kubernetes-agent-node-added.yaml', '-o', out, '--format', 'md']);
  const { code } = await p.exited(150_000);
  t.equal(code, 1, `the run fails (stderr: ${p.stderr().slice(-800)})`);
  const r = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
    summary: { nodesNeverPolled: string[]; coverage: { final: number } };
    nodes: { name: string; polledBy: number; connectedTentacles: number; requests: { queued: number; expired: number } }[];
    faults: { action: string; story: string; diagnosis?: string }[];
    diagnosis: string[];
  };
  const byName = Object.fromEntries(r.nodes.map((n) => [n.name, n]));
  t.same(r.summary.nodesNeverPolled, ['node3'], 'node3 was never polled');
  t.equal(byName['node1']!.connectedTentacles, 6, 'the agents poll the nodes they were configured with');
  t.equal(byName['node2']!.connectedTentacles, 6);
  t.ok(byName['node3']!.requests.queued > 0, 'node3 queued work once it joined');
  t.ok(byName['node3']!.requests.expired > 0, 'and that work expired');
  t.equal(byName['node1']!.requests.expired, 0, 'work on the known nodes was collected');
  t.ok(r.summary.coverage.final < 1);
  t.match(r.faults[0]!.story, /node3 joined the cluster at/);
  t.match(r.diagnosis.join('\n'), /node3 joined the cluster during the run and no tentacle polled it: .*serverCommsAddresses/);
});
