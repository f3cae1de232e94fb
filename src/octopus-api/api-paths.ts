/**
 * Where things are on the Octopus Server REST API ([H] section 8), and how the key is sent.
 * The API key travels only in this header; it never appears in a URL, an error or an event.
 */
export const API_KEY_HEADER = 'X-Octopus-ApiKey';

/** The root document; its `Version` says which API this is. */
export const ROOT_PATH = '/api';
export const SPACES_PATH = '/api/spaces';
/** The key's own user; its `Links.Spaces` lists the spaces that user may see. */
export const CURRENT_USER_PATH = '/api/users/me';
/** Where the server certificate thumbprint is read. *Unconfirmed* in the reference. */
export const SERVER_CERTIFICATE_PATH = '/api/configuration/certificates/certificate-global';
/** Multi-node polling: is Redis enabled, configured and reachable. */
export const REDIS_STATUS_PATH = '/api/serverstatus/redis';

export function environmentsPath(spaceId: string): string {
  return `/api/${spaceId}/environments`;
}

export function machinesPath(spaceId: string): string {
  return `/api/${spaceId}/machines`;
}

export function machinePath(spaceId: string, machineId: string): string {
  return `/api/${spaceId}/machines/${encodeURIComponent(machineId)}`;
}

/** The cluster's server nodes (`OctopusServerNodeResource`: Name, MaxConcurrentTasks, IsInMaintenanceMode, ...). */
export const SERVER_NODES_PATH = '/api/octopusservernodes';
/** A user's own spaces (`Links.Spaces` of /api/users/me, when the document has no link). */
export function userSpacesPath(userId: string): string {
  return `/api/users/${encodeURIComponent(userId)}/spaces`;
}
