import type { EmbeddedCluster } from '../cluster/embedded-cluster.js';
import type { PollfleetEvent } from '../core/events.js';
import type { HealthChecksResult } from '../result/result.js';
import type { FleetIdentity } from '../fleet/identity-pool.js';
import type { ServerEntry } from '../tentacle/server-entry.js';
import type { RouteEnvironment } from './routes/route.js';

/** A node as a Result names it. */
export interface EnvironmentNode {
  name: string;
  /** Polling address, `host:port`. */
  address: string;
  apiUrl: string | null;
}

/** What a started environment gives the run loop. */
export interface EnvironmentInfo {
  /** Server entries every tentacle polls (before `fleet.overrides`), in node order where an entry reaches one node. */
  entries: ServerEntry[];
  /** For each entry: the node index it reaches, or -1 when it reaches several (a balancer). */
  entryNodes: number[];
  /** The identity every tentacle uses when one is given (an external run without registration); null = one generated per tentacle. */
  identities: FleetIdentity[] | null;
  /** How tentacle t registers before it polls; null = it is already trusted. */
  register: ((t: number, id: FleetIdentity) => Promise<void>) | null;
  /** Where (and with which key) API load is driven; null = not possible here. The key is a secret: never print it. */
  web: { url: string; apiKey: string } | null;
  /** What faults act on: the embedded cluster and the route; null = nothing (a real cluster is not ours to break). */
  faultTargets: { cluster: EmbeddedCluster; route: RouteEnvironment } | null;
  /** Real work the environment queues during the steady phase (external.healthChecks); absent = none. */
  work?: RunWork | null;
}

/** Work queued through the cluster while the fleet runs: it sees the fleet's events and reports what it measured. */
export interface RunWork {
  observe(e: PollfleetEvent): void;
  start(): void;
  stop(): Promise<void>;
  result(): HealthChecksResult;
}

/**
 * Where a run happens: the embedded cluster on loopback (environment/embedded/) or a real
 * one (environment/external/). `start` brings it up (and checks what must be checked before
 * a socket opens); `stop` takes down or cleans up exactly what `start` made, and may be
 * called more than once, also when `start` failed half way.
 */
export interface Environment {
  /** What stands in the path, for reports (null: nothing, tentacles reach the nodes). */
  readonly balancer: string | null;
  /** The nodes, for the Result (what is known so far, before start: the planned addresses). */
  readonly nodes: EnvironmentNode[];
  start(): Promise<EnvironmentInfo>;
  stop(): Promise<void>;
}
