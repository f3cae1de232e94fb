import t from 'tap';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PollfleetEvent } from '../../src/core/events.js';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { generateCertificate } from '../../src/pki/certificate.js';
import { registerTentacle } from '../../src/tentacle/registration.js';
import { serverEntry } from '../../src/tentacle/server-entry.js';
import { Tentacle } from '../../src/tentacle/tentacle.js';
import { isAlive, spawnCli } from '../helpers/run.js';
import { waitFor } from '../helpers/wait.js';

interface ClusterJson {
  apiKey: string;
  spaceId: string;
  serverThumbprint: string;
  nodes: { name: string; pollingHost: string; pollingPort: number; pollingAddress: string; apiUrl: string; pid: number | null }[];
  pid: number;
}

// `pollfleet cluster` on its own; a tentacle registers and polls it using only cluster.json.
t.test('pollfleet cluster: cluster.json is enough to register and poll every node; SIGTERM stops it cleanly', async (t) => {
  const dir = t.testdir();
  const stateFile = join(dir, 'cluster.json');
  const p = spawnCli(['cluster', '--state-dir', dir, '--polling-port', '0', '--nodes', '3', '--polling-queue-wait', '2s']);
  let exited = false;
  p.child.once('exit', () => (exited = true));
  t.teardown(() => {
    if (!exited) p.child.kill('SIGKILL');
  });

  await waitFor(() => (existsSync(stateFile) || exited ? true : undefined), 90_000, 'cluster.json'); // a cold start on a loaded machine
  t.notOk(exited, `cluster still running (stderr: ${p.stderr()})`);
  t.equal(statSync(stateFile).mode & 0o777, 0o600, 'cluster.json readable by its owner only');
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as ClusterJson;
  t.match(state.apiKey, /^API-[A-Z0-9]+$/);
  t.equal(state.spaceId, 'Spaces-1');
  t.match(state.serverThumbprint, /^[0-9A-F]{40}$/);
  t.equal(state.nodes.length, 3);
  for (const n of state.nodes) {
    t.type(n.name, 'string');
    t.type(n.pollingHost, 'string');
    t.ok(Number.isInteger(n.pollingPort) && n.pollingPort > 0 && n.pollingPort < 65536, `${n.name} polling port ${n.pollingPort}`);
    t.match(n.apiUrl, /^https?:\/\//);
  }
  t.notMatch(p.stdout(), state.apiKey, 'the API key is not printed');

  const identity = await generateCertificate({ commonName: 'pollfleet test tentacle' });
  const subscriptionId = newSubscriptionId();
  const reg = await registerTentacle({
    apiUrl: state.nodes[0]!.apiUrl,
    apiKey: state.apiKey,
    space: state.spaceId,
    name: 'cluster-test-tentacle',
    environments: ['Test'],
    roles: ['pollfleet'],
    thumbprint: identity.thumbprint,
    subscriptionId,
    timeoutMs: 10_000,
  });
  t.equal(reg.serverThumbprint, state.serverThumbprint, 'registration reports the thumbprint in cluster.json');

  const identifiedEntries = new Set<number>();
  let conn = 0;
  const tentacle = new Tentacle({
    index: 0,
    identity,
    subscriptionId,
    servers: state.nodes.map((n) => serverEntry(`${n.pollingHost}:${n.pollingPort}`, state.serverThumbprint, n.name)),
    timeouts: { connectTimeoutMs: 2_000, receiveRequestTimeoutMs: 10_000, receiveTimeoutMs: 5_000, heartbeatTimeoutMs: 5_000, keepAliveInitialDelayMs: 1_000, maxMessageBytes: 1 << 20 },
    backoff: { minMs: 200, maxMs: 1_000 },
    sink: (e: PollfleetEvent) => {
      if (e.type === 'identified') identifiedEntries.add(e.entry);
    },
    nextConnId: () => ++conn,
  });
  tentacle.start();
  try {
    await waitFor(() => (identifiedEntries.size === 3 ? true : undefined), 20_000, 'identified on all 3 nodes');
    t.equal(identifiedEntries.size, 3, 'identified on every node');
  } finally {
    await tentacle.stop();
  }

  p.child.kill('SIGTERM');
  const { code } = await p.exited(20_000);
  t.equal(code, 0, `exit 0 after SIGTERM (stderr: ${p.stderr()})`);
  const pids = state.nodes.map((n) => n.pid).filter((x): x is number => typeof x === 'number' && x !== state.pid);
  t.ok(pids.length > 0, 'node processes were listed');
  // Give the OS a moment to reap children, bounded.
  await waitFor(() => (pids.every((pid) => !isAlive(pid)) ? true : undefined), 5_000, 'node processes gone').catch(() => undefined);
  for (const pid of pids) t.notOk(isAlive(pid), `node process ${pid} is gone`);
});
