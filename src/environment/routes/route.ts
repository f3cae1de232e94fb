import type { RunningNode } from '../../cluster/embedded-cluster.js';
import type { NlbSimulator } from '../../network/nlb.js';
import type { CertificateIdentity } from '../../pki/certificate.js';
import type { RouteKind, Scenario } from '../../scenario/resolve.js';
import type { ServerEntry } from '../../tentacle/server-entry.js';

/** What a route puts between the fleet and the embedded cluster. */
export interface RouteEnvironment {
  /** Server entries every tentacle polls (before per-tentacle overrides). */
  entries: ServerEntry[];
  /** For each entry: the node index it reaches, or -1 when it reaches several (a balancer). */
  entryNodes: number[];
  /** REST API base URLs tentacles register through (used round robin). */
  registrationUrls: string[];
  /** What stands in the path (for reports), e.g. "nlb simulator on 127.0.0.10:10943". */
  balancer: string | null;
  /** Stop whatever the route started. */
  stop(): Promise<void>;
  /** What faults can act on besides the nodes: the layer-4 balancer simulator, when there is one. */
  faultTargets?: { balancer: NlbSimulator | null };
}

export interface RouteContext {
  scenario: Scenario;
  nodes: RunningNode[];
  /** The cluster's server certificate thumbprint (what tentacles pin). */
  serverThumbprint: string;
  /** A run folder for balancer configs and logs. */
  workDir: string;
  /** Certificate a TLS-terminating balancer presents (its own, not the cluster's). */
  balancerCertificate: () => Promise<CertificateIdentity>;
}

/** One way of routing polling traffic to nodes. Adding one: a file here, a line in registry.ts, a test, a sample scenario. */
export interface RouteDefinition {
  kind: RouteKind;
  /** One line for --help and plans. */
  summary: string;
  build(ctx: RouteContext): Promise<RouteEnvironment>;
}
