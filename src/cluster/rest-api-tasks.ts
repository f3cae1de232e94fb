import type http from 'node:http';
import { CLUSTER_DEFAULTS } from '../scenario/defaults.js';
import type { MachineRegistry } from './machine-registry.js';
import type { ServerTaskRecord } from './tasks/server-task.js';

/**
 * Server tasks on the embedded REST API, shaped as Octopus's (OctopusClients
 * source/Octopus.Server.Client/Model/TaskResource.cs; a health check is `Name: "Health"`
 * with `Arguments.MachineIds`, as BuiltInTasks.Health):
 * - `POST /api/tasks` (or `/api/{spaceId}/tasks`) starts a health check on the node that got
 *   the request: it waits Queued under the node's task cap, then queues its requests on that
 *   node for those machines (GetCapabilities when the node's cache expired, then a script);
 * - `GET /api/tasks/{id}` answers its State (Queued, Executing, Success, Failed, TimedOut,
 *   Canceled), the node that ran it (`ServerNode`), and its times.
 * Tasks live on the node that runs them (there is no shared database): read a task back
 * from the node that started it.
 */

/** What the REST API needs from the node's workload. */
export interface TaskApi {
  startHealthCheck(subscriptions: string[], machineIds: string[]): ServerTaskRecord;
  get(id: string): ServerTaskRecord | undefined;
}

export interface TaskRouteContext {
  tasks: TaskApi;
  registry: MachineRegistry;
  spaceId: string;
  /** Lower-cased path segments and the same segments as sent. */
  segs: string[];
  raw: string[];
  method: string;
  req: http.IncomingMessage;
  res: http.ServerResponse;
  /** The REST API's own bounded body reader (413 and 415 answered as for every route). */
  readBody(req: http.IncomingMessage): Promise<string>;
}

const MAX_MACHINES = CLUSTER_DEFAULTS.restMaxArrayItems;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function fail(res: http.ServerResponse, status: number, message: string, errors: string[] = []): void {
  send(res, status, { ErrorMessage: message, Errors: errors });
}

/** Handle a tasks route; false when the path is not one (the caller goes on routing). */
export async function handleTaskRoute(c: TaskRouteContext): Promise<boolean> {
  const { segs, method, res } = c;
  // /api/tasks[/id] or /api/{spaceId}/tasks[/id]
  const at = segs[1] === 'tasks' ? 1 : segs[1] === c.spaceId.toLowerCase() && segs[2] === 'tasks' ? 2 : -1;
  if (at < 0 || segs.length > at + 2) return false;
  if (segs.length === at + 1) {
    if (method !== 'POST') {
      fail(res, 405, `${method} is not supported on /api/tasks (the embedded cluster starts tasks; it does not list them).`);
      return true;
    }
    await startTask(c);
    return true;
  }
  if (method !== 'GET') {
    fail(res, 405, `${method} is not supported on a task.`);
    return true;
  }
  const id = c.raw[at + 1]!;
  const task = c.tasks.get(id) ?? c.tasks.get(id.replace(/^servertasks-/i, 'ServerTasks-'));
  if (!task) {
    fail(res, 404, `The task ${id.slice(0, 80)} was not found on this node (tasks live on the node that started them).`);
    return true;
  }
  send(res, 200, taskResource(task, c.spaceId));
  return true;
}

async function startTask(c: TaskRouteContext): Promise<void> {
  const text = await c.readBody(c.req);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return fail(c.res, 400, 'There was a problem with your request.', ['The request body is not valid JSON.']);
  }
  const b = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  if (b['Name'] !== 'Health') {
    return fail(c.res, 400, 'There was a problem with your request.', [
      `Name: the embedded cluster runs "Health" tasks only, got ${typeof b['Name'] === 'string' ? JSON.stringify(b['Name'].slice(0, 40)) : 'none'}.`,
    ]);
  }
  const args = b['Arguments'];
  const ids = args && typeof args === 'object' ? (args as Record<string, unknown>)['MachineIds'] : undefined;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_MACHINES || !ids.every((x) => typeof x === 'string')) {
    return fail(c.res, 400, 'There was a problem with your request.', [`Arguments.MachineIds: expected 1 to ${MAX_MACHINES} machine ids.`]);
  }
  const subscriptions: string[] = [];
  const unknown: string[] = [];
  for (const id of ids as string[]) {
    const m = c.registry.get(c.spaceId, id);
    if (m) subscriptions.push(m.subscriptionId);
    else unknown.push(id.slice(0, 40));
  }
  if (unknown.length) {
    return fail(c.res, 400, 'There was a problem with your request.', [`Arguments.MachineIds: unknown machine${unknown.length === 1 ? '' : 's'} ${unknown.slice(0, 10).join(', ')} in ${c.spaceId}.`]);
  }
  const task = c.tasks.startHealthCheck(subscriptions, ids as string[]);
  send(c.res, 201, taskResource(task, c.spaceId));
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** A TaskResource as Octopus.Client reads it. */
export function taskResource(t: ServerTaskRecord, spaceId: string): Record<string, unknown> {
  const done = t.completedTime !== null;
  const durationMs = t.startTime === null ? 0 : (t.completedTime ?? Date.now()) - t.startTime;
  return {
    Id: t.id,
    SpaceId: spaceId,
    Name: t.name,
    Description: t.description,
    Arguments: { MachineIds: t.machineIds },
    State: t.state,
    Completed: done ? new Date(t.completedTime!).toUTCString() : null,
    QueueTime: iso(t.queueTime),
    StartTime: iso(t.startTime),
    LastUpdatedTime: iso(t.completedTime ?? t.startTime ?? t.queueTime),
    CompletedTime: iso(t.completedTime),
    ServerNode: t.serverNode,
    Duration: `${Math.round(durationMs / 1000)} seconds`,
    ErrorMessage: t.errorMessage,
    HasBeenPickedUpByProcessor: t.startTime !== null,
    IsCompleted: done,
    FinishedSuccessfully: t.state === 'Success',
    HasPendingInterruptions: false,
    CanRerun: false,
    HasWarningsOrErrors: t.state === 'Failed' || t.state === 'TimedOut',
    Links: { Self: `/api/tasks/${t.id}` },
  };
}
