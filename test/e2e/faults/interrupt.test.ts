import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Result } from '../../../src/result/result.js';
import { spawnCli } from '../../helpers/run.js';
import { waitFor } from '../../helpers/wait.js';

// A node hung (SIGSTOP) for a long time when Ctrl-C arrives: the run still stops, resumes
// nothing by hand, leaves no stopped process behind and writes a complete Result with the fault.
const scenario = `name: interrupt-fault
route: { kind: direct }
cluster: { nodes: 2, pollingPort: 0 }
fleet: { tentacles: 4, rampUp: 1s }
workload: { interval: 1s }
timeouts: { pollingQueueWait: 1s, pollingRequestQueueTimeout: 4s, receiveRequestTimeout: 3s }
backoff: { min: 1s, max: 3s }
duration: 60s
faults:
  - { at: 1s, action: hang, target: node2, for: 50s }
`;

t.test('SIGINT during a fault: complete result.json with the fault, marked interrupted', async (t) => {
  const dir = t.testdir({ 'fault.yaml': scenario });
  const out = join(dir, 'out');
  const p = spawnCli(['run', join(dir, 'fault.yaml'), '--out', out]);
  let exited = false;
  p.child.once('exit', () => (exited = true));
  t.teardown(() => {
    if (!exited) p.child.kill('SIGKILL');
  });
  await waitFor(() => (/fault hang@node2: hang node2/.test(p.stderr()) || exited ? true : undefined), 40_000, 'the fault to start', 200);
  await waitFor(() => (/timeout\.receive|errors [1-9]/.test(p.stderr()) || exited ? true : undefined), 15_000, 'a tentacle to give up', 200).catch(() => undefined);
  t.notOk(exited, 'still running');
  p.child.kill('SIGINT');
  const { code } = await p.exited(30_000);
  t.equal(code, 1, 'an interrupted run does not pass');
  const file = join(out, 'result.json');
  t.ok(existsSync(file), 'result.json written');
  const r = JSON.parse(readFileSync(file, 'utf8')) as Result;
  t.equal(r.interrupted, true);
  t.equal(r.faults.length, 1);
  const f = r.faults[0]!;
  for (const k of ['name', 'action', 'target', 'atMs', 'forMs', 'affectedPairs', 'detectionMs', 'recoveryMs', 'timeToFullCoverageMs', 'queuedDuringFault', 'expired', 'lostAfterCollection', 'reconnectAttempts', 'peakHandshakesPerSec', 'backoff', 'story', 'pass', 'reasons']) {
    t.ok(k in f, `fault has ${k}`);
  }
  t.equal(f.name, 'hang@node2');
  t.equal(f.affectedPairs, 4);
  t.equal(f.pass, false, 'not undone within the run');
  t.match(f.reasons.join(' '), /not undone within the run/);
  t.match(p.stdout(), /failover \(fault times from run start/, 'the console shows the failover block');
});
