import t from 'tap';
import { TentacleServices } from '../../src/tentacle/services.js';
import { API_KEY, registerTentacle, runTestTentacle, startClusterNode, testCertificates } from '../helpers/cluster.js';
import { withTimeout } from '../helpers/wait.js';

async function api(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'X-Octopus-ApiKey': API_KEY, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

t.test('POST /api/tasks starts a health check on this node; GET /api/tasks/{id} reads its state, node and times', async (t) => {
  const { tentacle } = await testCertificates();
  const n = await startClusterNode({
    workload: { intervalMs: 60_000, scriptShare: 0, enabled: false, scriptStatusBackoffMinMs: 50, scriptStatusBackoffFactor: 1, scriptStatusBackoffMaxMs: 50 },
  });
  t.teardown(() => n.close());
  const sub = await registerTentacle(n, tentacle);
  const machine = n.registry.list('Spaces-1')[0]!;
  const services = new TentacleServices({ scriptRunMs: 50 });
  const arrivals: { method: string; at: number }[] = [];
  const tt = await runTestTentacle(n.pollingPort, tentacle, sub, {
    handle: async (request, streams) => {
      arrivals.push({ method: `${request.service}.${request.method}`, at: Date.now() });
      return services.handleWithStreams(request, streams);
    },
  });
  t.teardown(() => tt.stop());
  await withTimeout(tt.identified, 5_000, 'identified');

  const created = await api(n.apiPort, 'POST', '/api/tasks', { Name: 'Health', Description: 'Check health', Arguments: { MachineIds: [machine.id] }, SpaceId: 'Spaces-1' });
  t.equal(created.status, 201);
  t.match(created.json, { Name: 'Health', ServerNode: 'node1', Arguments: { MachineIds: [machine.id] } });
  t.ok(['Queued', 'Executing'].includes(created.json['State']), `starts ${created.json['State']}`);
  let task = created.json;
  for (let i = 0; i < 100 && !task['IsCompleted']; i++) {
    await new Promise((r) => setTimeout(r, 50));
    task = (await api(n.apiPort, 'GET', `/api/tasks/${created.json['Id']}`)).json;
  }
  t.equal(task['State'], 'Success', task['ErrorMessage']);
  t.equal(task['FinishedSuccessfully'], true);
  t.equal(task['ServerNode'], 'node1', 'the node that ran it');
  t.ok(task['StartTime'] && task['CompletedTime'] && task['QueueTime'], 'queue, start and completion times');
  t.same(arrivals.map((a) => a.method).slice(0, 2), ['ICapabilitiesServiceV2.GetCapabilities', 'IScriptServiceV2.StartScript']);
  t.equal(arrivals.at(-1)!.method, 'IScriptServiceV2.CompleteScript');
  const firstRequestMs = arrivals[0]!.at - Date.parse(task['StartTime']);
  t.ok(firstRequestMs >= 0 && firstRequestMs < 2_000, `first request reached the tentacle ${firstRequestMs} ms after the task started`);
  const spaced = await api(n.apiPort, 'GET', `/api/Spaces-1/tasks/${created.json['Id']}`);
  t.equal(spaced.json['State'], 'Success', 'also under the space');
});

t.test('tasks API refusals: other task names, unknown machines, unknown ids, wrong methods', async (t) => {
  const n = await startClusterNode();
  t.teardown(() => n.close());
  const bad = await api(n.apiPort, 'POST', '/api/tasks', { Name: 'Deploy', Arguments: {} });
  t.equal(bad.status, 400);
  t.match(bad.json['Errors'][0], /Health/);
  const unknown = await api(n.apiPort, 'POST', '/api/tasks', { Name: 'Health', Arguments: { MachineIds: ['Machines-999'] } });
  t.equal(unknown.status, 400);
  t.match(unknown.json['Errors'][0], /Machines-999/);
  t.equal((await api(n.apiPort, 'POST', '/api/tasks', { Name: 'Health', Arguments: { MachineIds: [] } })).status, 400);
  t.equal((await api(n.apiPort, 'GET', '/api/tasks/ServerTasks-nope')).status, 404);
  t.equal((await api(n.apiPort, 'DELETE', '/api/tasks/ServerTasks-nope')).status, 405);
  t.equal((await api(n.apiPort, 'GET', '/api/tasks')).status, 405);
  const res = await fetch(`http://127.0.0.1:${n.apiPort}/api/tasks`, { method: 'POST', body: '{}' });
  t.equal(res.status, 401, 'an API key is needed');
});

t.test('the REST client side: startHealthCheck and readTask against the embedded node', async (t) => {
  const { OctopusClient } = await import('../../src/octopus-api/octopus-client.js');
  const { readTask, startHealthCheck } = await import('../../src/octopus-api/server-tasks.js');
  const { tentacle } = await testCertificates();
  const n = await startClusterNode();
  t.teardown(() => n.close());
  await registerTentacle(n, tentacle);
  const machine = n.registry.list('Spaces-1')[0]!;
  const client = new OctopusClient({ apiUrl: `http://127.0.0.1:${n.apiPort}`, apiKey: API_KEY });
  const started = await startHealthCheck(client, 'Spaces-1', [machine.id]);
  t.match(started.id, /^ServerTasks-/);
  t.equal(started.serverNode, 'node1');
  const read = await readTask(client, started.id);
  t.equal(read.id, started.id);
  t.ok(['Queued', 'Executing'].includes(read.state), `${read.state}: nobody polls, so it waits for collection`);
  t.ok(read.queueTime !== null && read.isCompleted === false);
  await t.rejects(readTask(client, 'ServerTasks-none'), /HTTP 404/);
});
