import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, spawnCli } from '../../helpers/run.js';
import { waitFor } from '../../helpers/wait.js';

const scenario = `name: interrupt
route:
  kind: direct
cluster:
  nodes: 3
  pollingPort: 0
fleet:
  tentacles: 5
  rampUp: 1s
workload:
  interval: 1s
timeouts:
  pollingQueueWait: 2s
  pollingRequestQueueTimeout: 4s
duration: 60s
`;

function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

// Ctrl-C during a long run: it stops promptly and still writes a partial, clearly marked Result.
t.test('SIGINT during run: partial result.json marked interrupted, no node process left', async (t) => {
  const dir = t.testdir({ 'interrupt.yaml': scenario });
  const out = join(dir, 'out');
  const p = spawnCli(['run', join(dir, 'interrupt.yaml'), '--out', out, '--format', 'md']);
  let exited = false;
  p.child.once('exit', () => (exited = true));
  t.teardown(() => {
    if (!exited) p.child.kill('SIGKILL');
  });

  await waitFor(() => (/steady/.test(p.stderr()) || exited ? true : undefined), 90_000, 'a steady progress line', 200); // a cold start (tsx, three node processes) on a loaded machine
  t.notOk(exited, `still running (stderr: ${p.stderr()})`);
  const nodePids = childPids(p.child.pid!);
  t.ok(nodePids.length >= 3, `node processes running (${nodePids.length})`);

  const sentAt = Date.now();
  p.child.kill('SIGINT');
  const { code } = await p.exited(45_000);
  t.ok(Date.now() - sentAt < 45_000, `stopped in ${Date.now() - sentAt} ms`);
  t.equal(code, 1, 'exit 1: an interrupted run does not pass');
  t.match(p.stderr(), /SIGINT/);
  t.notMatch(p.stderr(), '    at ', 'no stack trace');

  const file = join(out, 'result.json');
  t.ok(existsSync(file), 'result.json written');
  const result = JSON.parse(readFileSync(file, 'utf8'));
  t.equal(result.schema, 'pollfleet.result/v1');
  t.equal(result.interrupted, true);
  t.equal(result.verdict.pass, false);
  t.ok((result.verdict.reasons as string[]).some((r) => /interrupt/i.test(r)), `a reason says it was interrupted: ${JSON.stringify(result.verdict.reasons)}`);
  t.ok(result.durationMs < 60_000, 'covers only what ran');

  await waitFor(() => (nodePids.every((pid) => !isAlive(pid)) ? true : undefined), 5_000, 'node processes gone').catch(() => undefined);
  for (const pid of nodePids) t.notOk(isAlive(pid), `node process ${pid} is gone`);
});
