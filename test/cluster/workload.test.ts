import t from 'tap';
import { LocalQueue } from '../../src/cluster/local-queue.js';
import { MemoryRegistry } from '../../src/cluster/memory-machine-registry.js';
import { Workload, type WorkloadSettings } from '../../src/cluster/workload.js';
import { PROTOCOL_DEFAULTS, WORKLOAD_DEFAULTS } from '../../src/scenario/defaults.js';
import type { RequestMessage } from '../../src/halibut/index.js';
import {
  registerTentacle,
  runTestTentacle,
  startClusterNode,
  testCertificates,
  tentacleAnswer,
} from '../helpers/cluster.js';
import { withTimeout } from '../helpers/wait.js';
import { TentacleServices } from '../../src/tentacle/services.js';

const ENDPOINT = {
  pollingRequestQueueTimeoutMs: 1_000,
  retryListeningSleepIntervalMs: PROTOCOL_DEFAULTS.retryListeningSleepIntervalMs,
  retryCountLimit: PROTOCOL_DEFAULTS.retryCountLimit,
  connectionErrorRetryTimeoutMs: PROTOCOL_DEFAULTS.connectionErrorRetryTimeoutMs,
  tcpClientConnectTimeoutMs: PROTOCOL_DEFAULTS.connectTimeoutMs,
};

function settings(o: Partial<WorkloadSettings> = {}): WorkloadSettings {
  return { ...WORKLOAD_DEFAULTS, intervalMs: 60_000, enabled: true, ...o };
}

t.test('a script probe runs StartScript, GetStatus with back-off until complete, then CompleteScript', async (t) => {
  const { tentacle } = await testCertificates();
  const n = await startClusterNode({
    workload: { intervalMs: 60_000, scriptShare: 0, enabled: false, scriptStatusBackoffMinMs: 40, scriptStatusBackoffFactor: 2, scriptStatusBackoffMaxMs: 100 },
  });
  t.teardown(() => n.close());
  const sub = await registerTentacle(n, tentacle);
  const state = { calls: 0 };
  const seen: { method: string; at: number; request: RequestMessage }[] = [];
  const tt = await runTestTentacle(n.pollingPort, tentacle, sub, {
    handle: async (request) => {
      seen.push({ method: request.method, at: performance.now(), request });
      return { response: tentacleAnswer(request, 3, state) };
    },
  });
  await withTimeout(tt.identified, 5_000, 'identified');
  const result = await withTimeout(n.node.probe(sub, 'script'), 8_000, 'script sequence');
  t.equal(result.kind, 'script');
  t.equal(result.outcome.outcome, 'answered');
  t.same(seen.map((s) => s.method), ['StartScript', 'GetStatus', 'GetStatus', 'GetStatus', 'CompleteScript']);
  t.equal(result.requests, 5);
  const start = seen[0]!.request.params[0] as Record<string, any>;
  t.equal(start.$type, 'Octopus.Tentacle.Contracts.ScriptServiceV2.StartScriptCommandV2, Octopus.Tentacle.Contracts');
  t.equal(start.ScriptBody, 'echo hello');
  t.equal(start.ScriptTicket.TaskId, start.TaskId);
  const status = seen[1]!.request.params[0] as Record<string, any>;
  t.equal(status.$type, 'Octopus.Tentacle.Contracts.ScriptServiceV2.ScriptStatusRequestV2, Octopus.Tentacle.Contracts');
  t.equal(status.Ticket.TaskId, start.TaskId, 'GetStatus carries the ticket of StartScript');
  const gaps = [seen[2]!.at - seen[1]!.at, seen[3]!.at - seen[2]!.at];
  t.ok(gaps[0]! >= 70, `second GetStatus after ${gaps[0]!.toFixed(0)} ms (back-off 80 ms)`);
  t.ok(gaps[1]! >= 90, `third GetStatus after ${gaps[1]!.toFixed(0)} ms (back-off capped at 100 ms)`);
  const keys = n.events.filter((e) => e.type === 'request-queued').map((e) => e.type === 'request-queued' && e.requestKey);
  t.equal(new Set(keys).size, 5, 'every request has its own key');
  tt.stop();
  await withTimeout(tt.done, 5_000, 'tentacle stops');
});

t.test('tick() starts one task per registered machine (kinds by mix) and nothing while paused', async (t) => {
  const queue = new LocalQueue();
  const registry = new MemoryRegistry();
  t.teardown(() => queue.close());
  for (let i = 0; i < 3; i++) {
    await registry.register({
      name: `m${i}`, spaceId: 'Spaces-1', environmentIds: ['Environments-1'], roles: [],
      thumbprint: String(i).repeat(40), subscriptionId: `poll://machine${i}xxxxxxxxxxxxxx/`,
    });
  }
  let paused = false;
  const rolls = [0.1, 0.5, 0.9];
  let roll = 0;
  const w = new Workload({
    nodeName: 'node1', queue, registry,
    settings: settings({ tasks: { mix: { health: 1, deploy: 1, upload: 1 }, uploadBytes: 1000 } }), endpoint: ENDPOINT,
    isPaused: () => paused,
    random: () => rolls[roll++ % 3]!, // health, deploy, upload in machine order
  });
  t.teardown(() => w.stop());
  w.tick();
  await new Promise((r) => setImmediate(r));
  t.equal(queue.size(), 3, 'one request per machine');
  t.equal(w.inFlight, 3);
  t.equal(w.tasks.executing, 3);
  const methods: string[] = [];
  for (let i = 0; i < 3; i++) {
    const item = await queue.take(`poll://machine${i}xxxxxxxxxxxxxx/`, 'node1', 10, new AbortController().signal);
    methods.push(item!.request.method);
    t.equal(item!.request.endpoint.RemoteThumbprint, String(i).repeat(40));
    if (i === 2) t.equal(item!.streams?.length, 1, 'the upload carries its data stream');
    queue.requeue(item!);
  }
  t.same(methods, ['GetCapabilities', 'StartScript', 'UploadFile'], 'health asks for capabilities first (cache empty)');
  w.tick();
  t.equal(queue.size(), 3, 'a machine with a task running gets no second one (concurrentTasksPerTentacle 1)');
  paused = true;
  w.tick();
  t.equal(queue.size(), 3, 'paused (draining): nothing more queued');
});

t.test('task cap: tasks beyond it wait Queued and start as others finish', async (t) => {
  const queue = new LocalQueue();
  const registry = new MemoryRegistry();
  t.teardown(() => queue.close());
  await registry.register({ name: 'm', spaceId: 'Spaces-1', environmentIds: [], roles: [], thumbprint: 'A'.repeat(40), subscriptionId: 'poll://capxxxxxxxxxxxxxxxxx/' });
  const w = new Workload({
    nodeName: 'node1', queue, registry, endpoint: ENDPOINT, isPaused: () => false,
    settings: settings({ tasks: { taskCap: 2, concurrentTasksPerTentacle: 3, mix: { health: 1, deploy: 0, upload: 0 } } }),
  });
  t.teardown(() => w.stop());
  w.tick();
  t.equal(w.tasks.executing, 2);
  t.equal(w.tasks.queued, 1, 'the third waits for the cap');
  const records = ['ServerTasks-node1-1', 'ServerTasks-node1-2', 'ServerTasks-node1-3'].map((id) => w.tasks.get(id)!);
  t.same(records.map((r) => r.state), ['Executing', 'Executing', 'Queued']);
  t.equal(records[0]!.name, 'Health');
  t.equal(records[0]!.serverNode, 'node1');
  // Nobody collects: the first two expire after the 1 s collection timeout and fail; the third starts.
  const first = await withTimeout(w.tasks.finished(records[0]!.id), 5_000, 'first task ends');
  t.equal(first.state, 'Failed');
  t.match(first.errorMessage, /did not collect the request within the allowed time \(00:00:01\)/);
  t.equal(first.expired, 1);
  t.not(records[2]!.state, 'Queued', 'the queued task started once a slot was free');
  t.ok(records[2]!.startTime! >= first.completedTime!, 'it started after the first finished');
});

t.test('deployment step: StartScript(sleep N), GetStatus until the tentacle says complete, CompleteScript; health caches capabilities', async (t) => {
  const { tentacle } = await testCertificates();
  const n = await startClusterNode({
    workload: {
      intervalMs: 60_000, scriptShare: 0, enabled: false, scriptStatusBackoffMinMs: 100, scriptStatusBackoffFactor: 1, scriptStatusBackoffMaxMs: 100,
      tasks: { scriptDurationMs: 600 },
    },
  });
  t.teardown(() => n.close());
  const sub = await registerTentacle(n, tentacle);
  const services = new TentacleServices({ scriptRunMs: 50 });
  const seen: string[] = [];
  const tt = await runTestTentacle(n.pollingPort, tentacle, sub, {
    handle: async (request, streams) => {
      seen.push(request.method);
      return services.handleWithStreams(request, streams);
    },
  });
  await withTimeout(tt.identified, 5_000, 'identified');
  const started = performance.now();
  const deploy = n.node.workload.startTask('deploy', [sub]);
  const done = await withTimeout(n.node.workload.tasks.finished(deploy.id), 8_000, 'deploy task');
  const took = performance.now() - started;
  t.equal(done.state, 'Success', done.errorMessage);
  t.equal(seen[0], 'StartScript');
  t.equal(seen.at(-1), 'CompleteScript');
  const polls = seen.filter((m) => m === 'GetStatus').length;
  t.ok(polls >= 4 && polls <= 8, `${polls} GetStatus calls for a 600 ms script at 100 ms`);
  t.ok(took >= 600, `the step took ${took.toFixed(0)} ms (script 600 ms)`);
  t.same(done.calls, seen.map((m) => (m === 'StartScript' || m === 'GetStatus' || m === 'CompleteScript' ? `IScriptServiceV2::${m}` : m)));
  seen.length = 0;
  for (let i = 0; i < 2; i++) {
    const h = n.node.workload.startTask('health', [sub]);
    t.equal((await withTimeout(n.node.workload.tasks.finished(h.id), 8_000, 'health task')).state, 'Success');
  }
  t.equal(seen.filter((m) => m === 'GetCapabilities').length, 1, 'GetCapabilities once: cached for 10 minutes');
  t.equal(seen.filter((m) => m === 'StartScript').length, 2, 'a script every health check');
  tt.stop();
  await withTimeout(tt.done, 5_000, 'tentacle stops');
});

t.test('the node queues probes on its interval and stops while draining', async (t) => {
  const n = await startClusterNode({ workload: { intervalMs: 100, scriptShare: 0, enabled: true } });
  t.teardown(() => n.close());
  const { tentacle } = await testCertificates();
  await registerTentacle(n, tentacle);
  await n.waitFor('request-queued', undefined, 2_000);
  n.node.setDraining(true);
  await new Promise((r) => setTimeout(r, 150));
  const before = n.events.filter((e) => e.type === 'request-queued').length;
  await new Promise((r) => setTimeout(r, 350));
  t.equal(n.events.filter((e) => e.type === 'request-queued').length, before, 'no probes while draining');
  n.node.setDraining(false);
  await n.waitFor('request-queued', (e) => e.requestKey > before, 2_000);
  t.pass('probes resume after the drain');
});

t.test('a queue that cannot carry data streams (Redis today) gets no uploads', async (t) => {
  const queue = Object.assign(new LocalQueue(), { carriesDataStreams: false });
  const registry = new MemoryRegistry();
  t.teardown(() => queue.close());
  await registry.register({ name: 'm', spaceId: 'Spaces-1', environmentIds: [], roles: [], thumbprint: 'B'.repeat(40), subscriptionId: 'poll://redisxxxxxxxxxxxxxxx/' });
  const w = new Workload({
    nodeName: 'node1', queue, registry, endpoint: ENDPOINT, isPaused: () => false,
    settings: settings({ tasks: { mix: { health: 1, deploy: 0, upload: 9 } } }),
  });
  t.teardown(() => w.stop());
  w.tick();
  t.equal(w.tasks.get('ServerTasks-node1-1')?.kind, 'health', 'the upload weight is left out');
});
