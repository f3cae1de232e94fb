/**
 * A server task as an Octopus node runs it: queued on one node, executed by that node when
 * it has room under its task cap (Octopus's MaxConcurrentTasks, per node), and every request
 * it sends is queued on that node (its own queue in classic HA; the shared one with
 * multi-node polling). The REST shape follows Octopus.Client's TaskResource
 * (OctopusDeploy/OctopusClients source/Octopus.Server.Client/Model/TaskResource.cs).
 */

/** The kinds of work the embedded cluster runs (health check, deployment step, package upload). */
export type TaskKind = 'health' | 'deploy' | 'upload';

export const TASK_KINDS: readonly TaskKind[] = ['health', 'deploy', 'upload'];

/** Octopus.Client.Model.TaskState (the ones a run can reach). */
export type TaskState = 'Queued' | 'Executing' | 'Success' | 'Failed' | 'TimedOut' | 'Canceled';

/** Octopus task names: health checks are "Health"; a deployment step runs in a "Deploy" task. */
export const TASK_NAME: Record<TaskKind, string> = { health: 'Health', deploy: 'Deploy', upload: 'Deploy' };

/** The knobs of the task workload (scenario `workload.*`, resolved). */
export interface WorkloadTaskSettings {
  /** Relative weights of the kinds a round starts. */
  mix: Record<TaskKind, number>;
  /** Tasks running (or queued) per tentacle at once: a round tops each machine up to this. */
  concurrentTasksPerTentacle: number;
  /** How long a deployment step's script runs on the tentacle. */
  scriptDurationMs: number;
  /** Bytes of a package upload's data stream. */
  uploadBytes: number;
  /** Tasks executing at once on one node; the rest wait Queued (Octopus's task cap). */
  taskCap: number;
  /** GetCapabilities answers are cached per machine this long (Octopus: [CacheResponse(600)]). */
  capabilitiesCacheMs: number;
}

/** One task: its record, as GET /api/tasks/{id} shows it. */
export interface ServerTaskRecord {
  id: string;
  kind: TaskKind;
  name: string;
  description: string;
  /** Subscriptions of the machines the task works on. */
  subscriptions: string[];
  /** Machine ids the task was given (REST-started tasks). */
  machineIds: string[];
  state: TaskState;
  /** The node that queued and runs the task. */
  serverNode: string;
  queueTime: number;
  startTime: number | null;
  completedTime: number | null;
  errorMessage: string;
  /** Requests the task sent, and how many of them expired before collection. */
  requests: number;
  expired: number;
  /** Services::Methods the task called, in order (bounded). */
  calls: string[];
}

export function isFinished(state: TaskState): boolean {
  return state === 'Success' || state === 'Failed' || state === 'TimedOut' || state === 'Canceled';
}
