import type { OctopusClient } from './octopus-client.js';

/**
 * Server tasks over the REST API (OctopusClients TaskResource): queue a health check for some
 * machines (`POST /api/{spaceId}/tasks`, `Name: "Health"`, `Arguments.MachineIds`) and read a
 * task back (`GET /api/tasks/{id}`): its state, the node that runs it, its times. The building
 * block for queueing real work through a cluster; what a real server's health check then
 * sends to a machine, and whether it accepts the answers, is the server's business.
 */

export type TaskStateName = 'Queued' | 'Executing' | 'Success' | 'Failed' | 'TimedOut' | 'Canceled' | 'Cancelling' | string;

export interface TaskSnapshot {
  id: string;
  state: TaskStateName;
  /** The node that picked the task up (null until one has). */
  serverNode: string | null;
  queueTime: number | null;
  startTime: number | null;
  completedTime: number | null;
  isCompleted: boolean;
  errorMessage: string;
}

function time(v: unknown): number | null {
  if (typeof v !== 'string' || !v) return null;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : null;
}

function snapshot(body: unknown): TaskSnapshot {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  return {
    id: typeof b['Id'] === 'string' ? b['Id'] : '',
    state: typeof b['State'] === 'string' ? b['State'] : 'Unknown',
    serverNode: typeof b['ServerNode'] === 'string' && b['ServerNode'] ? b['ServerNode'] : null,
    queueTime: time(b['QueueTime']),
    startTime: time(b['StartTime']),
    completedTime: time(b['CompletedTime']),
    isCompleted: b['IsCompleted'] === true,
    errorMessage: typeof b['ErrorMessage'] === 'string' ? b['ErrorMessage'] : '',
  };
}

/** Queue a health check of `machineIds`; the task as the server answered it. */
export async function startHealthCheck(client: OctopusClient, spaceId: string, machineIds: string[], description = 'pollfleet health check of its synthetic machines'): Promise<TaskSnapshot> {
  const body = { Name: 'Health', Description: description, SpaceId: spaceId, Arguments: { MachineIds: machineIds } };
  return snapshot(await client.call('start health check', 'POST', `/api/${spaceId}/tasks`, body));
}

/** Read a task back. */
export async function readTask(client: OctopusClient, taskId: string): Promise<TaskSnapshot> {
  return snapshot(await client.call('read task', 'GET', `/api/tasks/${encodeURIComponent(taskId)}`));
}
