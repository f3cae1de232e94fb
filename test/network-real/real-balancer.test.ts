/**
 * The shared part of real balancers without HAProxy or nginx: spec validation, port choice,
 * the connection budget, and process handling against a stand-in program (a small node
 * script that answers the configuration check and then behaves as each test needs).
 */
import t from 'tap';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { PollfleetError } from '../../src/core/errors.js';
import {
  connectionBudget,
  openFilesHardLimit,
  reservePorts,
  startRealBalancer,
  validateBalancerSpec,
  type RealBalancerSettings,
  type RealBalancerSpec,
} from '../../src/network/real/real-balancer.js';
import { isListening, isPidAlive, LOOPBACK, makeCertificates, makeWorkDir, TEST_SETTINGS, within } from '../helpers/real-balancer.js';

const TIMEOUTS = { connectMs: 1_000, clientMs: 3_600_000, serverMs: 3_600_000 };
const tcpSpec = (workDir: string): RealBalancerSpec => ({
  kind: 'haproxy',
  workDir,
  listenHost: LOOPBACK,
  timeouts: TIMEOUTS,
  frontends: [{ mode: 'tcp', name: 'polling', port: 0, targets: [{ name: 'node1', host: LOOPBACK, port: 10943 }] }],
});

t.test('a spec is checked as a whole, every issue with its field', async (t) => {
  const issues = validateBalancerSpec({
    kind: 'haproxy',
    workDir: '/tmp/with space',
    listenHost: 'localhost',
    timeouts: { connectMs: 0, clientMs: 1000, serverMs: 1000 },
    frontends: [
      { mode: 'tcp', name: 'a', port: 70000, targets: [] },
      { mode: 'http-tls', name: 'a', port: 1, certPem: 'nope', keyPem: 'nope', targets: [{ name: 'n', host: LOOPBACK, port: 1 }] },
      { mode: 'udp', name: 'c', port: 0, targets: [] },
    ],
  });
  const text = issues.join('\n');
  for (const field of ['workDir', 'listenHost', 'timeouts.connectMs', 'frontends[0].port', 'frontends[0].targets', 'frontends[1].certPem', 'frontends[1].keyPem', 'frontends[2].mode']) {
    t.match(text, new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `, 'm'), `names ${field}`);
  }
  t.notMatch(text, /nope/, 'values (possibly secrets) are not echoed');

  t.same(validateBalancerSpec(tcpSpec('/tmp/x')), [], 'a good spec has no issues');
  const dup = tcpSpec('/tmp/x');
  dup.frontends.push({ ...dup.frontends[0]! });
  t.match(validateBalancerSpec(dup).join('\n'), /frontend names must be distinct/);

  const mixed = validateBalancerSpec({
    ...tcpSpec('/tmp/x'),
    kind: 'nginx',
    frontends: [{ mode: 'http-tls', name: 'alb', port: 0, certPem: '-----BEGIN CERTIFICATE-----', keyPem: '-----BEGIN PRIVATE KEY-----',
      targets: [{ name: 'a', host: LOOPBACK, port: 1, tls: true }, { name: 'b', host: LOOPBACK, port: 2 }] }],
  });
  t.match(mixed.join('\n'), /^frontends\[0\]\.targets: nginx proxies one frontend's targets with one scheme/m, 'nginx-only rule');

  const err = await startRealBalancer({ ...tcpSpec('/tmp/x'), listenHost: 'nowhere' }).then(() => null, (e: unknown) => e as PollfleetError);
  t.equal(err?.kind, 'input.invalid');
  t.match(err?.message, /^balancer spec \(haproxy\): listenHost: expected an IPv4 address/);
});

t.test('ports: 0 becomes a distinct free port, a held port or a foreign address is refused', async (t) => {
  const ports = await reservePorts(LOOPBACK, [0, 0, 0]);
  t.equal(new Set(ports).size, 3);
  for (const p of ports) t.ok(p > 0 && p < 65536);

  const holder = createServer();
  await new Promise<void>((ok) => holder.listen(0, LOOPBACK, () => ok()));
  t.teardown(() => new Promise<void>((ok) => holder.close(() => ok())));
  const held = (holder.address() as { port: number }).port;
  await t.rejects(reservePorts(LOOPBACK, [0, held]), { kind: 'environment.failed', message: `port ${held} on ${LOOPBACK} is already in use by another program` });
  await t.rejects(reservePorts('192.0.2.1', [0]), { kind: 'environment.failed', message: /^cannot listen on 192\.0\.2\.1:0/ });
});

t.test('the connection limit fits the open-files limit', async (t) => {
  t.equal(openFilesHardLimit('Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 20000                files\n'), 20000);
  t.equal(openFilesHardLimit('Max open files            unlimited            unlimited            files\n'), null);
  t.equal(connectionBudget(20_000, 20_000), 9_950, 'two descriptors per connection plus a reserve');
  t.equal(connectionBudget(20_000, 1_048_576), 20_000);
  t.equal(connectionBudget(5_000, null), 5_000);
  t.equal(connectionBudget(20_000, 50), 1, 'never below one');
});

// ---------------------------------------------------------------------------------------
// Process handling with a stand-in program

/**
 * A stand-in for haproxy: `-c -f cfg` is the configuration check, `-db -f cfg` the run.
 * It writes its pid to stand-in.pid in its cwd (the work dir), listens on every `bind`
 * line of the configuration, and then does what `behaviour` says.
 */
function standIn(behaviour: 'graceful' | 'stubborn' | 'exit' | 'bad-config' | 'never-ready' | 'chatty'): string {
  return `#!${process.execPath}
const fs = require('node:fs');
const net = require('node:net');
const args = process.argv.slice(2);
const cfg = args[args.indexOf('-f') + 1];
const behaviour = ${JSON.stringify(behaviour)};
if (args.includes('-c')) {
  if (behaviour === 'bad-config') {
    console.error("[ALERT]    (1) : config : parsing [" + cfg + ":3] : unknown keyword 'bogus' in 'global' section");
    process.exit(1);
  }
  process.exit(0);
}
fs.writeFileSync('stand-in.pid', String(process.pid));
if (behaviour === 'exit') {
  console.error('[ALERT]    (1) : Starting frontend fe-polling: cannot bind socket (stand-in)');
  process.exit(1);
}
if (behaviour === 'chatty') for (let i = 0; i < 100; i++) console.error('line ' + i + ' of the stand-in output');
if (behaviour === 'stubborn') process.on('SIGTERM', () => console.error('ignoring SIGTERM'));
const binds = fs.readFileSync(cfg, 'utf8').split('\\n').map((l) => /^\\s*bind ([0-9.]+):(\\d+)/.exec(l)).filter(Boolean);
if (behaviour !== 'never-ready') for (const m of binds) net.createServer((s) => s.destroy()).listen(Number(m[2]), m[1]);
setInterval(() => {}, 1000);
`;
}

async function standInSettings(t: Parameters<typeof makeWorkDir>[0], behaviour: Parameters<typeof standIn>[0]): Promise<RealBalancerSettings> {
  const dir = await makeWorkDir(t, 'stand-in');
  const binaryPath = join(dir, 'haproxy');
  await writeFile(binaryPath, standIn(behaviour));
  await chmod(binaryPath, 0o755);
  return { ...TEST_SETTINGS, binaryPath, startTimeoutMs: 1_500, stopTimeoutMs: 400, readinessProbeIntervalMs: 20 };
}

const pidIn = async (workDir: string) => Number(await readFile(join(workDir, 'stand-in.pid'), 'utf8'));

t.test('start waits for the ports; stop ends the process with SIGTERM', async (t) => {
  const workDir = await makeWorkDir(t, 'rb');
  // a kill timeout far above a normal exit, so a loaded machine cannot blur the two
  const settings = { ...(await standInSettings(t, 'graceful')), stopTimeoutMs: 3_000 };
  const b = await startRealBalancer(tcpSpec(workDir), settings);
  t.teardown(() => b.stop());
  t.equal(b.pid, await pidIn(workDir));
  t.equal(b.configPath, join(workDir, 'haproxy.cfg'));
  t.ok(await isListening(b.ports[0]!), 'ready means listening');
  const started = Date.now();
  await within(b.stop(), 'stop');
  t.ok(Date.now() - started < settings.stopTimeoutMs, 'SIGTERM was enough (no wait for the kill timeout)');
  t.notOk(isPidAlive(b.pid));
  t.notOk(b.isRunning());
});

t.test('a process that ignores SIGTERM is killed after stopTimeoutMs', async (t) => {
  const workDir = await makeWorkDir(t, 'rb');
  const settings = await standInSettings(t, 'stubborn');
  const b = await startRealBalancer(tcpSpec(workDir), settings);
  t.teardown(() => b.stop());
  const started = Date.now();
  await within(b.stop(), 'stop');
  const took = Date.now() - started;
  t.ok(took >= settings.stopTimeoutMs - 20, `waited for the stop timeout (${took} ms)`);
  t.ok(took < settings.stopTimeoutMs + 2_000, 'then killed promptly');
  t.notOk(isPidAlive(b.pid), 'the process is gone');
  t.match(b.logTail(), /ignoring SIGTERM/, 'its output was collected');
});

t.test("a configuration check failure carries the program's message", async (t) => {
  const workDir = await makeWorkDir(t, 'rb');
  await t.rejects(startRealBalancer(tcpSpec(workDir), await standInSettings(t, 'bad-config')), {
    kind: 'environment.failed',
    message: /^haproxy rejected the configuration .*haproxy\.cfg:\n.*unknown keyword 'bogus'/s,
  });
});

t.test("a program that exits while starting: error with its message", async (t) => {
  const workDir = await makeWorkDir(t, 'rb');
  await t.rejects(startRealBalancer(tcpSpec(workDir), await standInSettings(t, 'exit')), {
    kind: 'environment.failed',
    message: /^haproxy exited while starting \(exit code 1\):\n.*cannot bind socket \(stand-in\)/s,
  });
});

t.test('a program that never listens: start times out and the process is stopped', async (t) => {
  const workDir = await makeWorkDir(t, 'rb');
  const started = Date.now();
  await t.rejects(startRealBalancer(tcpSpec(workDir), await standInSettings(t, 'never-ready')), {
    kind: 'environment.failed',
    message: /^haproxy did not accept connections on 127\.0\.0\.1:\d+ within 1500 ms/,
  });
  t.ok(Date.now() - started < 1_500 + 400 + 2_000, 'bounded by the start and stop timeouts');
  t.notOk(isPidAlive(await pidIn(workDir)), 'the process was stopped');
});

t.test('the log tail is bounded and keeps the latest lines', async (t) => {
  const workDir = await makeWorkDir(t, 'rb');
  const b = await startRealBalancer(tcpSpec(workDir), { ...(await standInSettings(t, 'chatty')), logTailBytes: 200 });
  t.teardown(() => b.stop());
  const tail = b.logTail();
  t.ok(tail.length <= 200, `at most 200 characters (${tail.length})`);
  t.match(tail, /line 99 of the stand-in output\n$/);
  t.match(tail, /^line \d+ /, 'starts at a line start');
});

t.test('the balancer key is written 0600 and kept out of the configuration', async (t) => {
  const workDir = await makeWorkDir(t, 'rb');
  const { balancer } = await makeCertificates();
  const b = await startRealBalancer({
    ...tcpSpec(workDir),
    frontends: [{ mode: 'http-tls', name: 'alb', port: 0, certPem: balancer.certPem, keyPem: balancer.keyPem, targets: [{ name: 'web1', host: LOOPBACK, port: 8080 }] }],
  }, await standInSettings(t, 'graceful'));
  t.teardown(() => b.stop());
  t.equal((await stat(join(workDir, 'tls-alb.pem'))).mode & 0o777, 0o600);
  t.equal(await readFile(join(workDir, 'tls-alb.pem'), 'utf8'), `${balancer.certPem.trimEnd()}\n${balancer.keyPem.trimEnd()}\n`);
  t.notMatch(await readFile(b.configPath, 'utf8'), /PRIVATE KEY/);
});
