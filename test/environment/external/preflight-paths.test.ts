/**
 * Preflight names what stands in the path, over real sockets on loopback: the embedded cluster
 * behind the ALB simulator and behind real HAProxy in mode http (TLS termination and the
 * device's certificate), a TLS-inspecting proxy (a corporate CA), a node with a SHA-1 signed
 * certificate, drift (a 3-node cluster, a 2-node scenario, a drained node), and the wss port
 * check register-with does.
 */
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import { EmbeddedCluster } from '../../../src/cluster/embedded-cluster.js';
import { runPreflight, type PreflightReport } from '../../../src/environment/external/preflight-checks.js';
import { AlbSimulator } from '../../../src/network/alb-simulator.js';
import { startRealBalancer } from '../../../src/network/real/real-balancer.js';
import { checkPollingPort } from '../../../src/octopus-api/polling-port-check.js';
import { generateCertificate, type CertificateIdentity } from '../../../src/pki/certificate.js';
import { renderPreflight } from '../../../src/report/render-preflight.js';
import { PROTOCOL_DEFAULTS } from '../../../src/scenario/defaults.js';
import { loadScenarioFile } from '../../../src/scenario/loader.js';
import type { Scenario } from '../../../src/scenario/resolve.js';
import { makeWorkDir, testWithBalancer, TEST_SETTINGS } from '../../helpers/real-balancer.js';
import { spawnCli } from '../../helpers/run.js';

t.setTimeout(180_000);

const HOST = '127.0.0.1';
const API_KEY = 'API-PREFLIGHTPATHS000000000000000';
const TIMEOUTS = { dnsTimeoutMs: 2_000, tcpConnectTimeoutMs: 2_000, tlsHandshakeTimeoutMs: 3_000, httpTimeoutMs: 3_000, identifyTimeoutMs: 5_000 };

async function startCluster(t: Test, names: string[], certificate: CertificateIdentity, processes = false): Promise<EmbeddedCluster> {
  const cluster = new EmbeddedCluster({
    nodes: names.map((name) => ({ name, polling: { host: HOST, port: 0 }, api: { host: HOST, port: 0 } })),
    certificate,
    apiKey: API_KEY,
    spaceId: 'Spaces-1',
    apiHttps: true,
    protocol: { ...PROTOCOL_DEFAULTS, pollingQueueWaitMs: 2_000 },
    workload: { intervalMs: 60_000, scriptShare: 0, enabled: false },
    queue: 'per-node',
    redisUrl: null,
    processes,
    sink: () => undefined,
  });
  t.teardown(() => cluster.stop());
  await cluster.start();
  return cluster;
}

function scenarioFile(dir: string, name: string, external: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ name, target: 'external', external: { apiTlsVerify: false, ...external } }));
  return file;
}

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

let certs: Promise<{ server: CertificateIdentity; balancer: CertificateIdentity }> | null = null;
const certificates = () => (certs ??= (async () => ({
  server: await generateCertificate({ commonName: 'Octopus Portal' }),
  balancer: await generateCertificate({ commonName: 'alb.pollfleet.test' }),
}))());

const apiTargets = (cluster: EmbeddedCluster) => cluster.nodes.map((n) => {
  const u = new URL(n.apiUrl);
  return { name: n.name, host: u.hostname, port: Number(u.port), tls: true, protocol: 'https' as const };
});

/** What every TLS-terminating path must show. */
function expectTermination(t: Test, r: PreflightReport, balancer: CertificateIdentity, server: CertificateIdentity): void {
  const n = r.nodes[0]!;
  t.equal(n.certificate?.thumbprint, balancer.thumbprint, "the device's certificate was presented, not the node's");
  t.equal(n.certificate?.subject, 'CN=alb.pollfleet.test');
  t.equal(n.certificate?.signatureAlgorithm, 'sha256WithRSAEncryption');
  t.equal(n.certificate?.keyBits, 2048);
  t.ok(n.certificate && Date.parse(n.certificate.notAfter) > Date.now(), 'validity read');
  t.match(n.tls?.protocol, /^TLSv1\.[23]$/);
  t.ok(n.tls?.cipher && n.tls.cipher !== '?', 'cipher read');
  t.same(n.verdicts, [{ kind: 'tls-terminating', issuer: 'itself (CN=alb.pollfleet.test)' }]);
  const tp = step(r, n.name, 'thumbprint');
  t.equal(tp.status, 'fail');
  t.match(tp.detail, `expected ${server.thumbprint}, presented ${balancer.thumbprint}`);
  t.match(tp.hint, /TLS-terminating device .* polling needs TCP pass-through/);
  t.equal(step(r, n.name, 'identify').status, 'skip', 'no identification against a certificate a Tentacle refuses');
  t.match(renderPreflight(r), /=> {4}verdict {5}TLS-terminating device \(certificate issued by itself \(CN=alb\.pollfleet\.test\)\)/);
}

t.test('behind the ALB simulator: TLS termination and the device\'s certificate are named', async (t) => {
  const { server, balancer } = await certificates();
  const cluster = await startCluster(t, ['node1', 'node2'], server);
  const alb = new AlbSimulator({ name: 'alb', host: HOST, port: 0, certPem: balancer.certPem, keyPem: balancer.keyPem, targets: apiTargets(cluster) });
  const port = await alb.start();
  t.teardown(() => alb.stop());
  const dir = t.testdir();
  const file = scenarioFile(dir, 'alb', { nodes: [{ name: 'alb', polling: `${HOST}:${port}`, api: `https://${HOST}:${port}` }], thumbprint: server.thumbprint });
  const r = await runPreflight(load(file), { apiKey: null, identity: null, timeouts: TIMEOUTS });
  expectTermination(t, r, balancer, server);
  t.equal(step(r, 'alb', 'handshake').status, 'fail', 'POST /handshake through an HTTP balancer reaches the REST API, not the polling port');
  t.equal(step(r, 'alb', 'ping').status, 'pass', 'the ping is HTTP: it passes the balancer');

  const p = spawnCli(['preflight', file]);
  const { code } = await p.exited(60_000);
  t.equal(code, 1, p.stderr());
  t.match(p.stdout(), /CERT {2}presented {3}CN=alb\.pollfleet\.test, issued by itself/);
  t.match(p.stdout(), /verdict {5}TLS-terminating device \(certificate issued by itself \(CN=alb\.pollfleet\.test\)\)/);
  t.comment(`the CLI's printout (ALB):\n${p.stdout()}`);
});

testWithBalancer(t, 'haproxy', 'behind real HAProxy in mode http: TLS termination and the device\'s certificate are named', async (t) => {
  const { server, balancer } = await certificates();
  const cluster = await startCluster(t, ['node1', 'node2'], server);
  const b = await startRealBalancer({
    kind: 'haproxy', workDir: await makeWorkDir(t, 'preflight-haproxy'), listenHost: HOST,
    timeouts: { connectMs: 2_000, clientMs: 60_000, serverMs: 60_000 },
    frontends: [{ mode: 'http-tls', name: 'alb', port: 0, certPem: balancer.certPem, keyPem: balancer.keyPem, targets: apiTargets(cluster).map(({ name, host, port }) => ({ name, host, port, tls: true })) }],
  }, TEST_SETTINGS);
  t.teardown(() => b.stop());
  const port = b.ports[0]!;
  const file = scenarioFile(t.testdir(), 'haproxy', { nodes: [{ name: 'haproxy', polling: `${HOST}:${port}`, api: `https://${HOST}:${port}` }], thumbprint: server.thumbprint });
  const r = await runPreflight(load(file), { apiKey: null, identity: null, timeouts: TIMEOUTS });
  expectTermination(t, r, balancer, server);
  t.equal(step(r, 'haproxy', 'ping').status, 'pass', 'HAProxy forwards the ping to a node');
});

t.test('a TLS-inspecting proxy: the certificate chains to a corporate CA', async (t) => {
  const { server } = await certificates();
  const ca = await generateCertificate({ commonName: 'Contoso Inspection CA', isCa: true });
  // The proxy re-signs the node's subject with its CA and sends the chain.
  const forged = await generateCertificate({ commonName: 'Octopus Portal', issuer: ca });
  const proxy = tls.createServer({ cert: forged.certPem + ca.certPem, key: forged.keyPem }, (s) => s.end());
  proxy.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => proxy.listen(0, HOST, () => r()));
  t.teardown(() => new Promise<void>((r) => proxy.close(() => r())));
  const port = (proxy.address() as { port: number }).port;
  const file = scenarioFile(t.testdir(), 'inspected', { nodes: [{ name: 'octo1', polling: `${HOST}:${port}` }], thumbprint: server.thumbprint });
  const r = await runPreflight(load(file), { apiKey: null, identity: null, timeouts: TIMEOUTS });
  const n = r.nodes[0]!;
  t.equal(n.certificate?.issuer, 'CN=Contoso Inspection CA');
  t.equal(n.certificate?.selfIssued, false);
  t.same(n.certificate?.chain, ['CN=Octopus Portal', 'CN=Contoso Inspection CA']);
  t.same(n.verdicts, [{ kind: 'tls-interception', issuer: 'Contoso Inspection CA', root: 'CN=Contoso Inspection CA' }]);
  t.match(step(r, 'octo1', 'thumbprint').hint, /inspects TLS and re-signs it/);
  t.match(renderPreflight(r), /TLS interception \(the certificate chains to a corporate CA: CN=Contoso Inspection CA\)/);
});

t.test('a node with a SHA-1 signed certificate: the SHA-1 warning', async (t) => {
  const sha1 = await generateCertificate({ commonName: 'Octopus Portal', signatureHash: 'sha1' });
  const cluster = await startCluster(t, ['node1'], sha1);
  const n1 = cluster.nodes[0]!;
  const file = scenarioFile(t.testdir(), 'sha1', { nodes: [{ name: 'node1', polling: `${n1.pollingHost}:${n1.pollingPort}`, api: n1.apiUrl }], thumbprint: sha1.thumbprint });
  const r = await runPreflight(load(file), { apiKey: null, identity: null, timeouts: TIMEOUTS });
  const n = r.nodes[0]!;
  t.equal(n.certificate?.signatureAlgorithm, 'sha1WithRSAEncryption');
  t.same(n.verdicts.map((v) => v.kind), ['expected', 'sha1'], 'the right certificate, and SHA-1 signed');
  const tp = step(r, 'node1', 'thumbprint');
  t.equal(tp.status, 'fail');
  t.match(tp.detail, /as expected .*but it is signed with sha1WithRSAEncryption/);
  t.match(tp.hint, /modern Linux Tentacles .* refuse a SHA-1 signed certificate/);
  t.notOk(r.pass);
  t.match(renderPreflight(r), /verdict {5}SHA-1 signed certificate: modern Linux Tentacles refuse it/);
});

t.test('drift: a 3-node cluster, a 2-node scenario; a drained node is named', async (t) => {
  const { server } = await certificates();
  // Node processes, as `pollfleet cluster` runs them: the drain flag travels to every process.
  const cluster = await startCluster(t, ['node1', 'node2', 'node3'], server, true);
  const [a, b] = cluster.nodes;
  const dir = t.testdir();
  const file = scenarioFile(dir, 'drift', {
    nodes: [a!, b!].map((n) => ({ name: n.name, polling: `${n.pollingHost}:${n.pollingPort}`, api: n.apiUrl })),
    thumbprint: server.thumbprint, apiUrl: a!.apiUrl, apiKeyEnv: 'PF_DRIFT_KEY',
  });
  const s = load(file);

  const all = await request(`${a!.apiUrl}/api/octopusservernodes?skip=1&take=1`, {
    headers: { 'x-octopus-apikey': API_KEY }, dispatcher: new (await import('undici')).Agent({ connect: { rejectUnauthorized: false } }),
  });
  const page = (await all.body.json()) as { TotalResults: number; Items: Record<string, unknown>[]; Links: Record<string, string> };
  t.equal(page.TotalResults, 3, 'every node of the cluster, also the one nobody polls');
  t.same(Object.keys(page.Items[0]!).sort(), ['Id', 'IsInMaintenanceMode', 'IsOffline', 'LastSeen', 'Links', 'MaxConcurrentTasks', 'Name', 'Rank']);
  t.equal(page.Items[0]!['Name'], 'node2', 'paged with skip/take');
  t.equal(page.Links['Page.Next'], '/api/octopusservernodes?skip=2&take=1');

  const r = await runPreflight(s, { apiKey: API_KEY, identity: null, timeouts: TIMEOUTS });
  t.equal(r.drift.status, 'fail');
  t.same(r.drift.neverPolled.map((n) => n.name), ['node3']);
  t.match(renderPreflight(r), /FAIL {2}drift {7}3 nodes process tasks, the scenario polls 2: node3 is never polled\n\s+fix: each node hands its work only to the tentacles polling it/);
  t.notOk(r.pass);

  const before = spawnCli(['preflight', file], { env: { PF_DRIFT_KEY: API_KEY } });
  t.equal((await before.exited(60_000)).code, 1, before.stderr());
  t.match(before.stdout(), /FAIL {2}drift {7}3 nodes process tasks, the scenario polls 2: node3 is never polled/);
  t.comment(`the CLI's printout (drift):\n${before.stdout()}`);

  const withoutKey = await runPreflight(s, { apiKey: null, identity: null, timeouts: TIMEOUTS });
  t.equal(withoutKey.drift.status, 'skip', 'no key: no drift check, and no failure for it');

  cluster.setDraining('node2', true);
  const drained = await runPreflight(s, { apiKey: API_KEY, identity: null, timeouts: TIMEOUTS });
  t.same(drained.drift.drained.map((n) => n.name), ['node2'], 'node2 reports itself drained');
  t.same(drained.drift.processing.map((n) => n.name), ['node1', 'node3']);
  cluster.setDraining('node3', true);
  const both = await runPreflight(s, { apiKey: API_KEY, identity: null, timeouts: TIMEOUTS });
  t.same(both.drift.drained.map((n) => n.name), ['node2', 'node3'], 'node1 learns that node3 drains (another process)');
  t.equal(both.drift.status, 'pass', 'a drained node takes no new tasks: not polling it loses nothing');
  cluster.setDraining('node3', false);

  const p = spawnCli(['preflight', file], { env: { PF_DRIFT_KEY: API_KEY } });
  const { code } = await p.exited(60_000);
  t.equal(code, 1, p.stderr());
  t.match(p.stdout(), /FAIL {2}drift {7}2 nodes process tasks, the scenario polls 2: node3 is never polled/);
  t.match(p.stdout(), /PASS {2}drained {5}node2 is drained \(maintenance mode\)/);
  t.notOk(p.stdout().includes(API_KEY), 'the key is never printed');
  t.comment(`the CLI's printout (drift, node2 drained):\n${p.stdout()}`);
});

t.test('wss:// entries: the port check POSTs to the same URL with https://, answered by the WebSocket page', async (t) => {
  const { server } = await certificates();
  const cluster = await startCluster(t, ['node1'], server);
  const apiPort = Number(new URL(cluster.nodes[0]!.apiUrl).port);
  const address = `wss://${HOST}:${apiPort}/OctopusComms`;
  const check = await checkPollingPort({ host: HOST, port: apiPort, address, timeoutMs: 3_000 });
  t.equal(check.url, `https://${HOST}:${apiPort}/OctopusComms`);
  t.equal(check.status, 200);
  t.ok(check.isOpen);
  const insecure = new (await import('undici')).Agent({ connect: { rejectUnauthorized: false } });
  t.teardown(() => insecure.close());
  const page = await request(`https://${HOST}:${apiPort}/OctopusComms`, { dispatcher: insecure });
  t.equal(page.statusCode, 200, 'a plain GET gets the page, as the real WebSocket listener answers');
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(await page.body.text(), /Octopus Server configured successfully/);
  const tcp = await checkPollingPort({ host: HOST, port: apiPort, timeoutMs: 3_000 });
  t.equal(tcp.url, `https://${HOST}:${apiPort}/handshake`, 'a TCP entry is still checked at /handshake');

  const file = scenarioFile(t.testdir(), 'wss', { nodes: [{ name: 'node1', polling: address }], thumbprint: server.thumbprint });
  const r = await runPreflight(load(file), { apiKey: null, identity: null, timeouts: TIMEOUTS });
  t.equal(step(r, 'node1', 'handshake').status, 'pass');
  t.match(step(r, 'node1', 'handshake').detail, `POST https://${HOST}:${apiPort}/OctopusComms -> HTTP 200`);
  t.same(r.nodes[0]!.verdicts, [{ kind: 'expected' }]);
});
