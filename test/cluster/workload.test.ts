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

t.test('tick() queues one probe per registered machine and nothing while paused', async (t) => {
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
  let rolls = 0;
  const w = new Workload({
    nodeName: 'node1', queue, registry, settings: settings({ scriptShare: 0.5 }), endpoint: ENDPOINT,
    isPaused: () => paused,
    random: () => (rolls++ === 0 ? 0.1 : 0.9), // the first machine gets a script, the others GetCapabilities
  });
  t.teardown(() => w.stop());
  w.tick();
  t.equal(queue.size(), 3, 'one request per machine');
  t.equal(w.inFlight, 3);
  const methods: string[] = [];
  for (let i = 0; i < 3; i++) {
    const item = await queue.take(`poll://machine${i}xxxxxxxxxxxxxx/`, 'node1', 10, new AbortController().signal);
    methods.push(item!.request.method);
    t.equal(item!.request.endpoint.RemoteThumbprint, String(i).repeat(40));
    queue.requeue(item!);
  }
  t.same(methods, ['StartScript', 'GetCapabilities', 'GetCapabilities']);
  paused = true;
  w.tick();
  t.equal(queue.size(), 3, 'paused (draining): nothing more queued');
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
