/** The parts of Octopus REST resources pollfleet reads. Anything else in a document is kept untyped. */
export type Resource = Record<string, unknown>;

/** `GET /api`. */
export interface RootDocument extends Resource {
  Version?: string | number;
}

/** `GET /api/serverstatus/redis`. */
export interface RedisStatus extends Resource {
  IsEnabled?: boolean;
  IsConfigured?: boolean;
  IsReachable?: boolean;
}

/** The body of `POST /api/{spaceId}/machines` for a polling Tentacle (CommunicationStyle TentacleActive). */
export interface NewPollingMachine {
  Name: string;
  EnvironmentIds: string[];
  Roles: string[];
  TenantIds: string[];
  TenantTags: string[];
  TenantedDeploymentParticipation: 'Untenanted';
  MachinePolicyId?: string;
  Endpoint: PollingEndpoint;
}

/**
 * A polling machine's endpoint: a Tentacle (TentacleActive) or a Kubernetes agent in polling mode
 * (KubernetesTentacle; OctopusClients KubernetesTentacleEndpointResource +
 * TentacleEndpointConfigurationResource).
 */
export type PollingEndpoint =
  | { CommunicationStyle: 'TentacleActive'; Thumbprint: string; Uri: string }
  | { CommunicationStyle: 'KubernetesTentacle'; TentacleEndpointConfiguration: { CommunicationMode: 'Polling'; Thumbprint: string; Uri: string } };

/** The endpoint pollfleet registers for a tentacle of `fleet.profile`. */
export function pollingEndpoint(style: 'TentacleActive' | 'KubernetesTentacle', thumbprint: string, subscriptionId: string): PollingEndpoint {
  return style === 'KubernetesTentacle'
    ? { CommunicationStyle: 'KubernetesTentacle', TentacleEndpointConfiguration: { CommunicationMode: 'Polling', Thumbprint: thumbprint, Uri: subscriptionId } }
    : { CommunicationStyle: 'TentacleActive', Thumbprint: thumbprint, Uri: subscriptionId };
}

/**
 * The certificate thumbprint of a machine resource's polling endpoint, upper-case: a Tentacle's
 * `Endpoint.Thumbprint`, a Kubernetes agent's `Endpoint.TentacleEndpointConfiguration.Thumbprint`;
 * null when it has none. How pollfleet tells its own machines from anyone else's of that name.
 */
export function endpointThumbprint(machine: Resource): string | null {
  const ep = machine['Endpoint'] as Resource | undefined;
  const tp = ep?.['Thumbprint'] ?? (ep?.['TentacleEndpointConfiguration'] as Resource | undefined)?.['Thumbprint'];
  return typeof tp === 'string' && tp ? tp.toUpperCase() : null;
}

/** The list in a collection document (`{ Items: [...] }`) or a bare array; objects only. */
export function itemsOf(doc: unknown): Resource[] {
  const list = Array.isArray(doc) ? doc : (doc as Resource | null)?.['Items'];
  return Array.isArray(list) ? (list.filter((x) => x && typeof x === 'object') as Resource[]) : [];
}

/** `Name (Id)` for messages that list what exists. */
export function nameAndId(x: Resource): string {
  return `${String(x['Name'])} (${String(x['Id'])})`;
}

/**
 * `GET /api/octopusservernodes` items, as OctopusClients' OctopusServerNodeResource
 * (source/Octopus.Server.Client/Model/OctopusServerNodeResource.cs): `IsInMaintenanceMode` is
 * the drain flag; `IsOffline` and `LastSeen` say whether the node still checks in.
 */
export interface OctopusServerNodeResource extends Resource {
  Id?: string;
  Name?: string;
  MaxConcurrentTasks?: number;
  IsInMaintenanceMode?: boolean;
  IsOffline?: boolean;
  LastSeen?: string | null;
  Rank?: string | null;
}
