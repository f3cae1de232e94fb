import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../../src/environment/external/ledger.js';
import { filesContaining, machineNames, startExternalCluster, writeExternalScenario } from '../../helpers/real-target.js';
import { spawnCli } from '../../helpers/run.js';
import { waitFor } from '../../helpers/wait.js';

// Synthetic registration against `pollfleet cluster` in its own process: exactly the
// machines a run creates are deleted -- at the end, on SIGINT, and after a SIGKILL by the
// next run or `pollfleet cleanup`. The API key never leaves the environment variable.
t.setTimeout(150_000);

const KEY_ENV = 'PF_SYNTHETIC_KEY';
const PREFIX = 'pollfleet-synthetic-';

t.test('synthetic registration with guaranteed clean-up', async (t) => {
  const dir = t.testdir();
  const { state } = await startExternalCluster(t, dir, 2);
  process.env[KEY_ENV] = state.apiKey;
  const ledgerFile = join(dir, 'ledger.json');
  const scenario = (name: string, duration: string) =>
    writeExternalScenario(join(dir, `${name}.yaml`), state, {
      apiKeyEnv: KEY_ENV,
      register: { count: 3, environment: 'Test', ratePerSecond: 5, ledger: ledgerFile },
    }, { name, duration, fleet: { rampUp: '0s' } });
  const synthetic = async () => (await machineNames(state)).filter((n) => n.startsWith(PREFIX));
  const created = () => {
    const e = new Ledger(ledgerFile).entries();
    return e.length === 3 && e.every((x) => x.machineId) ? e : undefined;
  };
  const noKeyAnywhere = (t: { notOk(v: unknown, m: string): void; same(a: unknown, b: unknown, m: string): void }, out: string, p: { stdout(): string; stderr(): string }) => {
    t.notOk(p.stdout().includes(state.apiKey), 'key not in stdout');
    t.notOk(p.stderr().includes(state.apiKey), 'key not in stderr');
    t.same(filesContaining(out, state.apiKey), [], 'key in no file of the run folder');
    if (existsSync(ledgerFile)) t.notOk(readFileSync(ledgerFile, 'utf8').includes(state.apiKey), 'key not in the ledger');
  };

  await t.test('--plan prints what would be registered and opens nothing', async (t) => {
    const p = spawnCli(['run', scenario('plan', '3s'), '--plan']);
    const { code } = await p.exited(30_000);
    t.equal(code, 0, p.stderr());
    t.match(p.stdout(), /register\s+3 synthetic polling machine\(s\)/);
    t.match(p.stdout(), /3 TLS connection\(s\) to each node/);
    t.match(p.stdout(), /limits\s+within the defaults/);
    t.same(await synthetic(), [], 'nothing registered');
  });

  await t.test('N created, polled with, and all deleted at the end', async (t) => {
    const out = join(dir, 'out-end');
    const p = spawnCli(['run', scenario('end', '4s'), '-o', out, '--format', 'md']);
    let peak = 0;
    const watcher = setInterval(() => void synthetic().then((n) => (peak = Math.max(peak, n.length)), () => undefined), 300);
    const { code } = await p.exited(60_000).finally(() => clearInterval(watcher));
    t.not(code, 2, `ran (stderr: ${p.stderr()})`);
    t.equal(peak, 3, '3 machines existed during the run');
    t.match(p.stderr(), /clean-up: 3 synthetic machine\(s\) deleted/);
    t.same(await synthetic(), [], 'none left on the cluster');
    t.notOk(existsSync(ledgerFile), 'the ledger is empty (removed)');
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { summary: { registrationMs: { count: number; failures: Record<string, number> }; coveredPairs: number; pairs: number; errors: Record<string, number> } };
    t.same(result.summary.registrationMs.failures, {}, 'no registration failures');
    t.equal(result.summary.registrationMs.count, 3, 'registration latency of all 3 is in the Result');
    t.equal(result.summary.pairs, 6);
    t.equal(result.summary.coveredPairs, 6, 'every synthetic tentacle polled every node (its registration made it trusted)');
    noKeyAnywhere(t, out, p);
  });

  await t.test('SIGINT mid-run: all deleted', async (t) => {
    const out = join(dir, 'out-int');
    const p = spawnCli(['run', scenario('int', '60s'), '-o', out, '--format', 'md']);
    await waitFor(created, 30_000, 'three machines in the ledger');
    t.equal((await synthetic()).length, 3, 'the machines exist');
    p.child.kill('SIGINT');
    const { code } = await p.exited(30_000);
    t.not(code, null, 'exited by itself');
    t.same(await synthetic(), [], 'none left after Ctrl-C');
    t.notOk(existsSync(ledgerFile), 'ledger cleared');
    noKeyAnywhere(t, out, p);
  });

  await t.test('SIGKILL mid-run: `pollfleet cleanup` deletes them; after another SIGKILL the next run does', async (t) => {
    const p = spawnCli(['run', scenario('kill', '60s'), '-o', join(dir, 'out-kill'), '--format', 'md']);
    await waitFor(created, 30_000, 'three machines in the ledger');
    p.child.kill('SIGKILL');
    await p.exited(10_000);
    t.equal((await synthetic()).length, 3, 'a killed run leaves its machines');
    t.equal(new Ledger(ledgerFile).entries().length, 3, '...and the ledger lists them');

    const c = spawnCli(['cleanup', '--ledger', ledgerFile, '--api-key-env', KEY_ENV]);
    const { code } = await c.exited(30_000);
    t.equal(code, 0, c.stderr());
    t.match(c.stdout(), /deleted 3, already gone 0, failed 0/);
    t.same(await synthetic(), [], 'cleanup removed them');
    t.notOk(existsSync(ledgerFile));
    t.notOk(c.stdout().includes(state.apiKey) || c.stderr().includes(state.apiKey), 'key not printed by cleanup');

    const p2 = spawnCli(['run', scenario('kill2', '60s'), '-o', join(dir, 'out-kill2'), '--format', 'md']);
    await waitFor(created, 30_000, 'three machines in the ledger');
    p2.child.kill('SIGKILL');
    await p2.exited(10_000);
    const left = (await synthetic()).sort();
    t.equal(left.length, 3);

    const out = join(dir, 'out-next');
    const p3 = spawnCli(['run', scenario('next', '1s'), '-o', out, '--format', 'md']);
    await p3.exited(60_000);
    t.match(p3.stderr(), /lists 3 machine\(s\) left by an earlier run/);
    t.same(await synthetic(), [], 'the next run deleted the leftovers and its own machines');
    t.notOk(existsSync(ledgerFile));
    noKeyAnywhere(t, out, p3);
  });
});

t.test('safety rails: a large fleet against a real target is refused before anything is opened', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'big.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, 'target: external\nexternal:\n  nodes: [{ polling: "127.0.0.1:1" }]\n  thumbprint: 77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6\n  identity: { cert: none.pem }\nfleet: { tentacles: 500 }\nduration: 2h\n');
  const p = spawnCli(['run', file]);
  const { code } = await p.exited(30_000);
  t.equal(code, 2);
  t.match(p.stderr(), /safety limits for a real cluster/);
  t.match(p.stderr(), /fleet\.tentacles 500 is above the limit of 50/);
  t.match(p.stderr(), /above the limit of 1h/);
  t.match(p.stderr(), /--i-understand-load/);
  const plan = spawnCli(['run', file, '--plan', '--i-understand-load']);
  t.equal((await plan.exited(30_000)).code, 0);
  t.match(plan.stdout(), /limits\s+lifted/);
});
