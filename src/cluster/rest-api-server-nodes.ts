/**
 * `GET /api/octopusservernodes[/{id}]` of the embedded REST API: the cluster's server nodes in
 * the shape of OctopusClients' OctopusServerNodeResource (Id, Name, MaxConcurrentTasks,
 * IsInMaintenanceMode, IsOffline, LastSeen, Rank, Links). `IsInMaintenanceMode` is drain mode
 * (the ping answers 418 for the same node). The list comes from the cluster (every node, also
 * those nobody polls); a lone node lists itself.
 */

/** One node as the cluster's "database" knows it. */
export interface ServerNodeState {
  name: string;
  isDraining: boolean;
  /** False once the node was stopped or crashed (a real node turns IsOffline when it stops checking in). */
  isOnline: boolean;
  /** Octopus's default task cap per node is 5. */
  maxConcurrentTasks?: number;
}

/** Octopus Server's default `MaxConcurrentTasks`. */
export const DEFAULT_MAX_CONCURRENT_TASKS = 5;
export const SERVER_NODE_ID_PREFIX = 'OctopusServerNodes-';

export interface ServerNodesAnswer {
  status: number;
  body: unknown;
}

function resource(n: ServerNodeState, leader: string | undefined, seenAt: string): Record<string, unknown> {
  const id = `${SERVER_NODE_ID_PREFIX}${n.name}`;
  return {
    Id: id,
    Name: n.name,
    MaxConcurrentTasks: n.maxConcurrentTasks ?? DEFAULT_MAX_CONCURRENT_TASKS,
    IsInMaintenanceMode: n.isDraining,
    IsOffline: !n.isOnline,
    LastSeen: seenAt,
    Rank: n.name === leader ? 'Leader' : 'Follower',
    Links: { Self: `/api/octopusservernodes/${id}`, Node: `/api/octopusservernodes/${id}/details` },
  };
}

/**
 * The answer to a request under /api/octopusservernodes (the ping is served before this).
 * `segs` are the lower-cased path segments, `url` the request URL (skip/take).
 */
export function serverNodesAnswer(method: string, segs: readonly string[], url: URL, nodes: readonly ServerNodeState[], at: Date = new Date()): ServerNodesAnswer {
  if (method !== 'GET') return { status: 405, body: { ErrorMessage: `${method} is not supported on ${url.pathname}.`, Errors: [] } };
  const seenAt = at.toISOString();
  const leader = nodes.find((n) => n.isOnline)?.name;
  const items = nodes.map((n) => resource(n, leader, seenAt));
  if (segs.length === 3) {
    const hit = items.find((x) => String(x['Id']).toLowerCase() === segs[2]);
    return hit ? { status: 200, body: hit } : { status: 404, body: { ErrorMessage: `The server node ${segs[2]} was not found.`, Errors: [] } };
  }
  if (segs.length !== 2) return { status: 404, body: { ErrorMessage: `There is no resource at ${url.pathname}.`, Errors: [] } };
  const skip = Math.max(0, Number(url.searchParams.get('skip') ?? 0) || 0);
  const take = Math.max(1, Number(url.searchParams.get('take') ?? 30) || 30);
  const self = `/api/octopusservernodes?skip=${skip}&take=${take}`;
  const pages = Math.max(1, Math.ceil(items.length / take));
  return {
    status: 200,
    body: {
      ItemType: 'OctopusServerNode',
      TotalResults: items.length,
      ItemsPerPage: take,
      NumberOfPages: pages,
      LastPageNumber: pages - 1,
      Items: items.slice(skip, skip + take),
      Links: {
        Self: self,
        'Page.All': '/api/octopusservernodes?skip=0&take=2147483647',
        'Page.Current': self,
        ...(skip + take < items.length ? { 'Page.Next': `/api/octopusservernodes?skip=${skip + take}&take=${take}` } : {}),
      },
    },
  };
}
