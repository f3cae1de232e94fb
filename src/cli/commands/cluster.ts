import { mkdirSync } from 'node:fs';
import { InputTooLargeError, readInputFile } from '../../core/read-input.js';
import { join } from 'node:path';
import { newApiKey } from '../../cluster/api-key.js';
import { PollfleetError, EXIT_OK } from '../../core/errors.js';
import { generateCertificate } from '../../pki/certificate.js';
import { writeIdentity } from '../../pki/load.js';
import { CLUSTER_DEFAULTS } from '../../scenario/defaults.js';
import { scenarioFromObject } from '../../scenario/loader.js';
import { createEmbeddedCluster } from '../../environment/embedded/embedded-environment.js';
import { ROUTES } from '../../environment/routes/route-registry.js';
import type { RouteKind } from '../../scenario/resolve.js';
import { writeFileAtomic } from '../../core/atomic-write.js';
import type { CliContext } from '../context.js';

export interface ClusterFlags {
  nodes?: string;
  route?: string;
  pollingPort?: string;
  addressBase?: string;
  queue?: string;
  apiHttps?: boolean;
  stateDir?: string;
  pollingQueueWait?: string;
  collectionTimeout?: string;
  workloadInterval?: string;
  /** false (--no-workload): the nodes queue no work of their own; only tasks started over the REST API run. */
  workload?: boolean;
}

export interface ClusterState {
  apiKey: string;
  spaceId: string;
  serverThumbprint: string;
  route: string;
  queue: string;
  nodes: { name: string; pollingHost: string; pollingPort: number; pollingAddress: string; apiUrl: string; pid: number | null }[];
  startedAt: string;
  pid: number;
}

/**
 * `pollfleet cluster`: an embedded cluster on its own, until SIGINT/SIGTERM, so another
 * program (or a real Tentacle) can register and poll it. cluster.json holds what is needed.
 */
export async function clusterCommand(ctx: CliContext, f: ClusterFlags): Promise<number> {
  const route = f.route ?? 'direct';
  // Only routes without a balancer: a standalone cluster's nodes are polled where they listen.
  if (!(route in ROUTES) || ROUTES[route as RouteKind].balanced) {
    throw new PollfleetError('input.invalid', `--route ${route}: a standalone cluster listens directly (direct or unique-port); balanced routes are built by run/compare`);
  }
  const raw: Record<string, unknown> = {
    name: 'cluster',
    route: { kind: route },
    cluster: {
      ...(f.nodes !== undefined ? { nodes: Number(f.nodes) } : {}),
      ...(f.pollingPort !== undefined ? { pollingPort: Number(f.pollingPort) } : {}),
      ...(f.addressBase ? { directAddressBase: f.addressBase } : {}),
      ...(f.queue ? { queue: f.queue } : {}),
      ...(f.apiHttps ? { apiHttps: true } : {}),
    },
    timeouts: {
      ...(f.pollingQueueWait ? { pollingQueueWait: f.pollingQueueWait } : {}),
      ...(f.collectionTimeout ? { pollingRequestQueueTimeout: f.collectionTimeout } : {}),
    },
    ...(f.workloadInterval || f.workload === false ? { workload: { ...(f.workloadInterval ? { interval: f.workloadInterval } : {}), ...(f.workload === false ? { enabled: false } : {}) } } : {}),
  };
  const s = scenarioFromObject(raw, 'command line');
  const certificate = await generateCertificate({ commonName: 'Octopus Portal' });
  const apiKey = newApiKey();
  const cluster = createEmbeddedCluster(s, certificate, apiKey, () => undefined);
  const nodes = await cluster.start();
  const state: ClusterState = {
    apiKey,
    spaceId: CLUSTER_DEFAULTS.spaceId,
    serverThumbprint: certificate.thumbprint,
    route,
    queue: s.cluster.queue,
    nodes: nodes.map((n) => ({ name: n.name, pollingHost: n.pollingHost, pollingPort: n.pollingPort, pollingAddress: `https://${n.pollingHost}:${n.pollingPort}`, apiUrl: n.apiUrl, pid: n.pid })),
    startedAt: new Date().toISOString(),
    pid: process.pid,
  };
  if (f.stateDir) {
    mkdirSync(f.stateDir, { recursive: true });
    // cluster.json holds the API key: readable by its owner only.
    writeFileAtomic(join(f.stateDir, 'cluster.json'), JSON.stringify(state, null, 2) + '\n', 0o600);
    writeIdentity(join(f.stateDir, 'server'), certificate);
  }
  const out = ctx.stdout;
  out.write(`pollfleet cluster: ${nodes.length} nodes up (route ${route}, queue ${s.cluster.queue})\n`);
  out.write(`  server thumbprint  ${certificate.thumbprint}\n  space              ${state.spaceId}\n`);
  out.write(`  API key            ${f.stateDir ? `in ${join(f.stateDir, 'cluster.json')}` : '(not shown; use --state-dir to write it to cluster.json)'}\n`);
  for (const n of state.nodes) out.write(`  ${n.name.padEnd(8)} polling ${n.pollingAddress.padEnd(28)} api ${n.apiUrl}\n`);
  out.write('Register a Tentacle with: Tentacle register-with --server <api> --apikey <key> --comms-style TentacleActive --server-comms-address <polling>\n');
  out.write('Ctrl-C stops the cluster.\n');
  // Drain control from outside (as an operator would put a node in drain mode): list node
  // names in <state-dir>/drain, one per line, then send SIGUSR2; unlisted nodes leave drain.
  const onDrainSignal = () => {
    if (!f.stateDir) return;
    const file = join(f.stateDir, 'drain');
    let wanted: Set<string>;
    try {
      wanted = new Set(readInputFile(file, 64 * 1024).toString('utf8').split(/\s+/).filter(Boolean));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        out.write(`drain mode unchanged: ${e instanceof InputTooLargeError ? `${e.message}: not a list of node names` : `cannot read ${file} (${code ?? String(e)})`}\n`);
        return;
      }
      wanted = new Set(); // no file: no node drained
    }
    for (const n of state.nodes) cluster.setDraining(n.name, wanted.has(n.name));
    out.write(`drain mode: ${[...wanted].filter((w) => state.nodes.some((n) => n.name === w)).join(', ') || 'no node'}\n`);
  };
  process.on('SIGUSR2', onDrainSignal);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.off('SIGUSR2', onDrainSignal);
  out.write('stopping the cluster...\n');
  await cluster.stop();
  return EXIT_OK;
}
