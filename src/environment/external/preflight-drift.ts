import type { Dispatcher } from 'undici';
import { OctopusClient } from '../../octopus-api/octopus-client.js';
import type { OctopusServerNodeResource } from '../../octopus-api/octopus-resources.js';
import type { ExternalNode } from '../../scenario/resolve.js';

/**
 * Drift between the cluster and the scenario: the server nodes that take tasks
 * (`GET /api/octopusservernodes`) against the polling addresses the scenario (and so its
 * Tentacles) poll. In classic HA each node hands its work only to tentacles polling it, so a
 * task-processing node that nobody polls is where tasks time out. Drained nodes
 * (`IsInMaintenanceMode`) and offline ones (`IsOffline`) are named, not counted as processing.
 * Rendering is src/report/render-preflight.ts (driftLines).
 */

export interface ServerNodeSummary {
  id: string;
  name: string;
  maxConcurrentTasks: number;
  isInMaintenanceMode: boolean;
  isOffline: boolean;
  lastSeen: string | null;
}

export interface DriftReport {
  status: 'pass' | 'fail' | 'skip';
  reason: string | null;
  /** What to do about a skip or a failed read. */
  hint: string | null;
  scenarioNodes: number;
  sharedQueue: boolean;
  serverNodes: ServerNodeSummary[];
  processing: ServerNodeSummary[];
  neverPolled: ServerNodeSummary[];
  drained: ServerNodeSummary[];
  offline: ServerNodeSummary[];
  /** Scenario node names that match no server node. */
  unmatched: string[];
  /** Scenario node name -> the server node it polls. */
  polled: { scenarioNode: string; serverNode: string }[];
}

export function summarise(r: OctopusServerNodeResource): ServerNodeSummary {
  return {
    id: typeof r.Id === 'string' ? r.Id : '',
    name: typeof r.Name === 'string' ? r.Name : '',
    maxConcurrentTasks: typeof r.MaxConcurrentTasks === 'number' ? r.MaxConcurrentTasks : 0,
    isInMaintenanceMode: r.IsInMaintenanceMode === true,
    isOffline: r.IsOffline === true,
    lastSeen: typeof r.LastSeen === 'string' ? r.LastSeen : null,
  };
}

const norm = (s: string) => s.trim().toLowerCase();

/** Names a scenario node may be known by on the server: its name, and its host's first label (octo3.example.com -> octo3). */
function aliases(n: ExternalNode): string[] {
  const firstLabel = /^[0-9.]+$|:/.test(n.host) ? '' : n.host.split('.')[0]!;
  return [n.name, firstLabel].filter(Boolean).map(norm);
}

/** Names a server node answers to: its Name and its Id without `OctopusServerNodes-` (the machine name it was created with). */
function serverAliases(s: ServerNodeSummary): string[] {
  return [s.name, s.id.replace(/^OctopusServerNodes-/i, '')].filter(Boolean).map(norm);
}

/** Compare (pure): which task-processing nodes the scenario never polls. */
export function compareNodes(serverNodes: ServerNodeSummary[], scenario: readonly ExternalNode[], sharedQueue: boolean): DriftReport {
  const polled: DriftReport['polled'] = [];
  const unmatched: string[] = [];
  const reached = new Set<ServerNodeSummary>();
  for (const n of scenario) {
    const a = aliases(n);
    const hit = serverNodes.find((s) => serverAliases(s).some((x) => a.includes(x)));
    if (hit) {
      reached.add(hit);
      polled.push({ scenarioNode: n.name, serverNode: hit.name });
    } else unmatched.push(n.name);
  }
  const processing = serverNodes.filter((s) => !s.isInMaintenanceMode && !s.isOffline && s.maxConcurrentTasks > 0);
  const neverPolled = processing.filter((s) => !reached.has(s));
  return {
    status: neverPolled.length > 0 && !sharedQueue ? 'fail' : 'pass',
    reason: null,
    hint: null,
    scenarioNodes: scenario.length,
    sharedQueue,
    serverNodes,
    processing,
    neverPolled,
    drained: serverNodes.filter((s) => s.isInMaintenanceMode),
    offline: serverNodes.filter((s) => s.isOffline),
    unmatched,
    polled,
  };
}

function empty(status: 'skip' | 'fail', reason: string, hint: string, scenarioNodes: number, sharedQueue: boolean): DriftReport {
  return { status, reason, hint, scenarioNodes, sharedQueue, serverNodes: [], processing: [], neverPolled: [], drained: [], offline: [], unmatched: [], polled: [] };
}

export interface DriftOptions {
  apiUrl: string | null;
  /** A secret: sent in the header only. */
  apiKey: string | null;
  nodes: readonly ExternalNode[];
  multiNodePolling: boolean;
  timeoutMs: number;
  dispatcher?: Dispatcher;
}

/** Read the cluster's nodes and compare; never throws (a failed read is a `fail` with the reason). */
export async function checkDrift(o: DriftOptions): Promise<DriftReport> {
  const n = o.nodes.length;
  if (!o.apiUrl) return empty('skip', 'no API URL to read the server nodes from', 'set external.apiUrl (and an API key) to compare the cluster\'s nodes with the scenario', n, o.multiNodePolling);
  if (!o.apiKey) return empty('skip', 'no API key: the cluster\'s nodes were not compared with the scenario', 'set external.apiKeyEnv (a key that may view the server nodes) to compare them', n, o.multiNodePolling);
  try {
    const client = new OctopusClient({ apiUrl: o.apiUrl, apiKey: o.apiKey, timeoutMs: o.timeoutMs, ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}) });
    const nodes = (await client.serverNodes()).map(summarise);
    return compareNodes(nodes, o.nodes, o.multiNodePolling);
  } catch (e) {
    return empty('fail', (e as Error).message, 'the key needs permission to view the server nodes (Configuration > Nodes); GET /api/octopusservernodes must answer', n, o.multiNodePolling);
  }
}
