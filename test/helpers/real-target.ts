/**
 * A `pollfleet cluster` started as a separate process and used strictly as an external
 * target: only what cluster.json holds (addresses, thumbprint, API key) is used.
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import { spawnCli, type CliProcess } from './run.js';
import { waitFor } from './wait.js';

export interface ClusterJson {
  apiKey: string;
  spaceId: string;
  serverThumbprint: string;
  nodes: { name: string; pollingHost: string; pollingPort: number; pollingAddress: string; apiUrl: string; pid: number | null }[];
  pid: number;
}

export interface ExternalCluster {
  state: ClusterJson;
  proc: CliProcess;
  dir: string;
}

type Teardown = { teardown(fn: () => void | Promise<void>): void };

export async function startExternalCluster(t: Teardown, dir: string, nodes = 3, extraArgs: string[] = []): Promise<ExternalCluster> {
  const stateFile = join(dir, 'cluster.json');
  rmSync(stateFile, { force: true }); // never read a file an earlier cluster left
  const proc = spawnCli(['cluster', '--state-dir', dir, '--polling-port', '0', '--nodes', String(nodes), '--polling-queue-wait', '2s', '--workload-interval', '1s', ...extraArgs]);
  let exited = false;
  proc.child.once('exit', () => (exited = true));
  t.teardown(async () => {
    if (process.env['PF_DEBUG_CLUSTER']) writeFileSync(process.env['PF_DEBUG_CLUSTER'], proc.stdout() + proc.stderr());
    if (!exited) {
      proc.child.kill('SIGTERM');
      await proc.exited(20_000).catch(() => proc.child.kill('SIGKILL'));
    }
  });
  await waitFor(() => (existsSync(stateFile) || exited ? true : undefined), 40_000, 'cluster.json');
  if (exited) throw new Error(`pollfleet cluster exited: ${proc.stderr()}`);
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as ClusterJson;
  if (state.pid !== proc.child.pid) throw new Error(`cluster.json was written by process ${state.pid}, not by the cluster started here (${proc.child.pid})`);
  return { state, proc, dir };
}

/** A scenario file for the cluster as an external target (the key by environment variable name). */
export function writeExternalScenario(file: string, state: ClusterJson, external: Record<string, unknown> = {}, top: Record<string, unknown> = {}): string {
  const body = {
    name: 'real',
    target: 'external',
    external: {
      nodes: state.nodes.map((n) => ({ name: n.name, polling: `${n.pollingHost}:${n.pollingPort}`, api: n.apiUrl })),
      thumbprint: state.serverThumbprint,
      apiUrl: state.nodes[0]!.apiUrl,
      space: state.spaceId,
      ...external,
    },
    timeouts: { pollingQueueWait: '2s', connectTimeout: '3s', receiveTimeout: '5s', heartbeatTimeout: '5s' },
    backoff: { min: '200ms', max: '1s' },
    ...top,
  };
  writeFileSync(file, stringify(body));
  return file;
}

/** Machine names in the cluster's space (through the REST API, with the key). */
export async function machineNames(state: ClusterJson): Promise<string[]> {
  const res = await request(`${state.nodes[0]!.apiUrl}/api/${state.spaceId}/machines?take=1000`, { headers: { 'x-octopus-apikey': state.apiKey }, headersTimeout: 5_000, bodyTimeout: 5_000 });
  const body = (await res.body.json()) as { Items: { Name: string }[] };
  return body.Items.map((m) => m.Name);
}

/** Every file under dir (recursively) that contains `secret`. */
export function filesContaining(dir: string, secret: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (readFileSync(p).includes(secret)) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}
