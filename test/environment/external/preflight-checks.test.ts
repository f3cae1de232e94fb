import t from 'tap';
import { existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { join } from 'node:path';
import { newSubscriptionId } from '../../../src/halibut/subscription.js';
import { generateCertificate } from '../../../src/pki/certificate.js';
import { writeIdentity } from '../../../src/pki/load.js';
import { runPreflight, preflightIdentity, type PreflightReport } from '../../../src/environment/external/preflight-checks.js';
import { renderPreflight } from '../../../src/report/render-preflight.js';
import { loadScenarioFile } from '../../../src/scenario/loader.js';
import type { Scenario } from '../../../src/scenario/resolve.js';
import { registerTentacle } from '../../../src/tentacle/registration.js';
import { filesContaining, machineNames, startExternalCluster, writeExternalScenario } from '../../helpers/real-target.js';
import { isAlive, spawnCli } from '../../helpers/run.js';
import { waitFor } from '../../helpers/wait.js';

// `pollfleet cluster` in its own process, checked by preflight as a real cluster would be.
t.setTimeout(120_000);

const TIMEOUTS = { dnsTimeoutMs: 2_000, tcpConnectTimeoutMs: 2_000, tlsHandshakeTimeoutMs: 3_000, httpTimeoutMs: 3_000, identifyTimeoutMs: 5_000 };

function load(file: string): Scenario {
  const l = loadScenarioFile(file);
  if (l.kind !== 'scenario') throw new Error('expected a scenario');
  return l.scenario;
}

function step(r: PreflightReport, node: string, name: string) {
  const s = r.nodes.find((n) => n.name === node)?.steps.find((x) => x.step === name);
  if (!s) throw new Error(`no step ${name} for ${node}`);
  return s;
}

t.test('preflight of a separately started cluster', async (t) => {
  const dir = t.testdir();
  const { state, proc } = await startExternalCluster(t, dir, 3);

  // A tentacle identity the cluster trusts (registered the way register-with does).
  const identity = await generateCertificate({ commonName: 'Octopus Tentacle' });
  const subscriptionId = newSubscriptionId();
  await registerTentacle({ apiUrl: state.nodes[0]!.apiUrl, apiKey: state.apiKey, space: state.spaceId, name: 'preflight-test', environments: ['Test'], roles: ['t'], thumbprint: identity.thumbprint, subscriptionId, timeoutMs: 5_000 });
  const { certFile, keyFile } = writeIdentity(join(dir, 'tentacle'), identity);
  const file = writeExternalScenario(join(dir, 'real.yaml'), state, { identity: { cert: certFile, key: keyFile }, apiKeyEnv: 'PF_PREFLIGHT_KEY' });
  const s = load(file);
  const opts = { apiKey: state.apiKey, identity: preflightIdentity(identity, 'test identity'), timeouts: TIMEOUTS };

  await t.test('all green: every step of every node passes', async (t) => {
    const r = await runPreflight(s, opts);
    for (const n of r.nodes) {
      t.same(n.steps.map((x) => `${x.step}:${x.status}`), ['dns', 'tcp', 'tls', 'thumbprint', 'handshake', 'identify', 'ping'].map((x) => `${x}:pass`), `${n.name}: ${renderPreflight(r)}`);
    }
    t.match(step(r, 'node1', 'tls').detail, /TLSv1\.[23], \S+/, 'TLS version and cipher are shown');
    t.match(step(r, 'node1', 'identify').detail, /MX-SUBSCRIBER poll:\/\/.* -> MX-SERVER/);
    t.notOk(r.nodes.some((n) => n.steps.some((x) => x.detail.includes(subscriptionId))), 'identifies with a fresh subscription, never the machine\'s');
    t.same(r.cluster.map((x) => `${x.step}:${x.status}`), ['api:pass']);
    t.ok(r.pass);
  });

  await t.test('the CLI: exit 0, JSON output, the API key never printed', async (t) => {
    process.env['PF_PREFLIGHT_KEY'] = state.apiKey;
    const p = spawnCli(['preflight', file, '--json']);
    const { code } = await p.exited(60_000);
    t.equal(code, 0, `exit 0 (stderr: ${p.stderr()})`);
    const report = JSON.parse(p.stdout()) as PreflightReport;
    t.equal(report.pass, true);
    t.equal(report.nodes.length, 3);
    const identifyLines = report.nodes.map((n) => n.steps.find((x) => x.step === 'identify')!.detail);
    t.ok(identifyLines.every((d) => /MX-SUBSCRIBER poll:\/\/[a-z0-9]{20}\/ /.test(d) && !d.includes(subscriptionId)), `the CLI identifies with a fresh subscription: ${identifyLines.join('; ')}`);
    t.notOk(p.stdout().includes(state.apiKey), 'key not in stdout');
    t.notOk(p.stderr().includes(state.apiKey), 'key not in stderr');
    t.same(filesContaining(join(dir), state.apiKey).filter((f) => !f.endsWith('cluster.json')), [], 'no file but cluster.json holds the key');
  });

  await t.test('a wrong thumbprint: the thumbprint step fails naming both values', async (t) => {
    const wrong = (await generateCertificate({ commonName: 'Octopus Portal' })).thumbprint;
    const bad = writeExternalScenario(join(dir, 'wrong.yaml'), state, {
      nodes: state.nodes.map((n, i) => ({ name: n.name, polling: `${n.pollingHost}:${n.pollingPort}`, api: n.apiUrl, ...(i === 1 ? { thumbprint: wrong } : {}) })),
      multiNodePolling: true,
    });
    const r = await runPreflight(load(bad), opts);
    const tp = step(r, 'node2', 'thumbprint');
    t.equal(tp.status, 'fail');
    t.match(tp.detail, `expected ${wrong}`);
    t.match(tp.detail, `presented ${state.serverThumbprint}`);
    t.match(tp.hint, /configured thumbprint is probably wrong/, 'an Octopus-looking certificate: the configuration is blamed, not a balancer');
    t.equal(step(r, 'node2', 'identify').status, 'skip', 'no identification against a certificate a Tentacle would refuse');
    t.equal(step(r, 'node1', 'thumbprint').status, 'pass');
    t.equal(step(r, 'node3', 'identify').status, 'pass');
    const redis = r.cluster.find((x) => x.step === 'redis');
    t.equal(redis?.status, 'fail', 'multi-node polling configured but the cluster reports no Redis');
    t.notOk(r.pass);
    t.match(renderPreflight(r), /FAIL: node node2, cluster redis/);
  });

  await t.test('a draining node: ping reports 418', async (t) => {
    writeFileSync(join(dir, 'drain'), 'node2\n');
    const before = proc.stdout().length;
    process.kill(state.pid, 'SIGUSR2');
    await waitFor(() => (proc.stdout().slice(before).includes('drain mode: node2') ? true : undefined), 5_000, 'drain acknowledged');
    const r = await runPreflight(s, opts);
    const ping = step(r, 'node2', 'ping');
    t.equal(ping.status, 'fail');
    t.match(ping.detail, /-> 418: the node is in drain mode/);
    t.equal(step(r, 'node1', 'ping').status, 'pass');
    t.equal(step(r, 'node2', 'identify').status, 'pass', 'a draining node still serves polling');
    // An unreadable drain file (here a folder) changes nothing and says why.
    rmSync(join(dir, 'drain'));
    mkdirSync(join(dir, 'drain'));
    const mark = proc.stdout().length;
    process.kill(state.pid, 'SIGUSR2');
    await waitFor(() => (proc.stdout().slice(mark).includes('drain mode unchanged: cannot read') ? true : undefined), 5_000, 'the unreadable drain file reported');
    t.equal(step(await runPreflight(s, opts), 'node2', 'ping').status, 'fail', 'node2 still drained');
    rmdirSync(join(dir, 'drain'));
    writeFileSync(join(dir, 'drain'), '');
    process.kill(state.pid, 'SIGUSR2');
  });

  await t.test('--register: a synthetic machine to identify with, deleted again', async (t) => {
    const ledger = join(dir, 'preflight-ledger.json');
    const reg = writeExternalScenario(join(dir, 'register.yaml'), state, { apiKeyEnv: 'PF_PREFLIGHT_KEY', register: { environment: 'Test', ledger } });
    process.env['PF_PREFLIGHT_KEY'] = state.apiKey;
    const p = spawnCli(['preflight', reg, '--register', '--json']);
    const { code } = await p.exited(60_000);
    t.equal(code, 0, p.stderr());
    const r = JSON.parse(p.stdout()) as PreflightReport;
    t.ok(r.nodes.every((n) => n.steps.find((x) => x.step === 'identify')?.status === 'pass'), 'identified on every node with the synthetic identity');
    t.match(r.cluster.find((x) => x.step === 'register')?.detail, /registered synthetic machine pollfleet-synthetic-/);
    t.same((await machineNames(state)).filter((n) => n.startsWith('pollfleet-synthetic-')), [], 'deleted at the end');
    t.notOk(existsSync(ledger), 'ledger cleared');
    t.notOk(p.stdout().includes(state.apiKey) || p.stderr().includes(state.apiKey), 'key never printed');
  });

  await t.test('a node stopped: its TCP step fails, the others pass', async (t) => {
    const victim = state.nodes[2]!;
    t.ok(victim.pid, 'node3 runs in its own process');
    process.kill(victim.pid!, 'SIGKILL');
    await waitFor(() => (isAlive(victim.pid!) ? undefined : true), 5_000, 'node3 gone');

    const r = await runPreflight(s, opts);
    const tcp = step(r, 'node3', 'tcp');
    t.equal(tcp.status, 'fail');
    t.match(tcp.detail, /tcp\.refused/);
    t.match(tcp.hint, /nothing listens on that port/);
    for (const x of ['tls', 'thumbprint', 'handshake', 'identify']) t.equal(step(r, 'node3', x).status, 'skip', `node3 ${x} skipped`);
    t.equal(step(r, 'node3', 'ping').status, 'fail', 'its ping fails too');
    for (const n of ['node1', 'node2']) t.ok(r.nodes.find((x) => x.name === n)!.steps.every((x) => x.status === 'pass'), `${n} all pass`);

    const p = spawnCli(['preflight', file]);
    const { code } = await p.exited(60_000);
    t.equal(code, 1, 'exit 1 when a step failed');
    t.match(p.stdout(), /FAIL\s+tcp/);
    t.match(p.stdout(), /fix: nothing listens/);
    t.notOk(p.stdout().includes(state.apiKey) || p.stderr().includes(state.apiKey), 'key never printed');
  });
});

t.test('bad input: exit 2 with a clear message', async (t) => {
  const dir = t.testdir({ 'embedded.yaml': 'name: e\n' });
  const p = spawnCli(['preflight', join(dir, 'embedded.yaml')]);
  const { code } = await p.exited(30_000);
  t.equal(code, 2);
  t.match(p.stderr(), /preflight checks a real cluster \(target: external/);
  t.notMatch(p.stderr(), /\n\s+at /, 'no stack trace');
});

t.test('a certificate that is not Octopus\'s: "this looks like a load balancer\'s certificate"', async (t) => {
  // A TLS endpoint presenting a balancer's own certificate (what TLS offload looks like).
  const balancer = await generateCertificate({ commonName: 'pollfleet balancer' });
  const server = tls.createServer({ cert: balancer.certPem, key: balancer.keyPem }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const expected = (await generateCertificate({ commonName: 'Octopus Portal' })).thumbprint;
  const dir = t.testdir();
  const file = join(dir, 'lb.yaml');
  writeFileSync(file, `target: external\nexternal:\n  nodes: [{ name: lb, polling: "127.0.0.1:${port}" }]\n  thumbprint: ${expected}\n`);
  const r = await runPreflight(load(file), { apiKey: null, identity: null, timeouts: TIMEOUTS });
  const tp = step(r, 'lb', 'thumbprint');
  t.equal(tp.status, 'fail');
  t.match(tp.detail, `expected ${expected}, presented ${balancer.thumbprint}`);
  t.match(tp.detail, /CN=pollfleet balancer/);
  t.match(tp.hint, /this looks like a load balancer's certificate/);
  t.equal(step(r, 'lb', 'identify').status, 'skip');
  t.equal(step(r, 'lb', 'ping').status, 'skip', 'no API URL: skipped with a hint');
  t.match(step(r, 'lb', 'ping').hint, /add api:/);
});
