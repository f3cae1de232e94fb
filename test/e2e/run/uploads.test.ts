import t from 'tap';
import type { Test } from 'tap';
import type { Result } from '../../../src/result/result.js';
import { runSmall, smallScenario } from '../../helpers/run.js';

/**
 * Package uploads of 50 MiB (IFileTransferService.UploadFile with one data stream) through
 * every route that passes: the node streams the package, the tentacle hashes it as it
 * arrives, and the task succeeds only when the UploadResult's hash and length match
 * (src/cluster/tasks/task-steps.ts). Real Tentacles accept any size: no 16 MiB limit.
 */
const UPLOAD = '50MiB';

async function runUploads(t: Test, route: Record<string, unknown>, cluster: Record<string, unknown> = {}): Promise<Result> {
  return runSmall(
    smallScenario({
      name: `uploads-${String(route['kind'])}`,
      route,
      cluster: { nodes: 2, pollingPort: 0, ...cluster },
      fleet: { tentacles: 1, rampUp: '100ms' },
      workload: { interval: '2s', mix: { upload: 1 }, uploadSize: UPLOAD },
      timeouts: { pollingQueueWait: '2s', pollingRequestQueueTimeout: '30s', receiveTimeout: '30s' },
      duration: '8s',
    }),
    t.testdir({}),
  );
}

function expectUploads(t: Test, r: Result): void {
  const uploads = r.summary.tasks?.['upload'] ?? {};
  // A task succeeds only when the tentacle's SHA-256 and length match the package sent. (An
  // upload still in flight when the run stops its fleet may end Failed: not counted against.)
  t.ok((uploads['Success'] ?? 0) >= 1, `50 MiB uploads arrived with the right hash (${JSON.stringify(uploads)})`);
  t.ok((uploads['Success'] ?? 0) >= (uploads['Failed'] ?? 0), 'uploads succeed (a wrong hash or length fails every one)');
  t.equal(r.summary.errors['protocol.message-too-large'] ?? 0, 0, 'no size limit hit');
  t.equal(r.summary.requests?.expired, 0, 'nothing expired');
}

t.test('direct', async (t) => expectUploads(t, await runUploads(t, { kind: 'direct' })));
t.test('nlb-unique-port', async (t) => expectUploads(t, await runUploads(t, { kind: 'nlb-unique-port' })));
t.test('single-address with a shared queue', async (t) => expectUploads(t, await runUploads(t, { kind: 'single-address' }, { queue: 'shared' })));
t.test('direct over WebSockets', async (t) => expectUploads(t, await runUploads(t, { kind: 'direct', transport: 'websocket' })));
