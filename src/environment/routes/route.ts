import type { RunningNode } from '../../cluster/embedded-cluster.js';
import type { NlbSimulator } from '../../network/nlb-simulator.js';
import type { CertificateIdentity } from '../../pki/certificate.js';
import type { Dispatcher } from 'undici';
import type { RouteKind, Scenario } from '../../scenario/resolve.js';
import type { ServerEntry } from '../../tentacle/server-entry.js';
import type { RoutePlanner } from '../../plan/plan.js';
import type { Result } from '../../result/result.js';

/** What a route puts between the fleet and the embedded cluster. */
export interface RouteEnvironment {
  /** Server entries every tentacle polls (before per-tentacle overrides). */
  entries: ServerEntry[];
  /** For each entry: the node index it reaches, or -1 when it reaches several (a balancer). */
  entryNodes: number[];
  /** REST API base URLs tentacles register through (used round robin); `route.registration` picks them. */
  registrationUrls: string[];
  /** What registration's REST calls go through (route kind proxy: undici's ProxyAgent); a plain Agent when absent. Closed by stop(). */
  registrationDispatcher?: Dispatcher;
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

/** A Result before it is judged. */
export type MeasuredRun = Omit<Result, 'thresholds' | 'verdict' | 'diagnosis'>;

/**
 * What the route adds to the diagnosis: pure functions of the Result. The CLI (and the
 * test helpers) hand it to verdict/judge.ts, whose RouteDiagnosis it matches; the
 * measuring side never imports this one.
 */
export interface RouteDiagnosisHints {
  /** The sentences about which nodes tentacles reach, in place of the generic never-polled / partly-polled ones. */
  coverage?(r: MeasuredRun, generic: { neverPolled: string[]; partlyPolled: string[] }): string[];
  /** The idle timeout (ms) of the layer-4 balancer the route puts in the path, from the Result's scenario (checked against the poll cycle). */
  balancerIdleTimeoutMs?(r: MeasuredRun): number | undefined;
  /** The TLS-offload sentence in the route's words (`generic`: the generic one); without it the generic one stands. */
  tlsOffload?(r: MeasuredRun, generic: string): string;
  /** Sentences about errors the route explains, and the error kinds whose generic sentence they stand in for. */
  errors?(r: MeasuredRun): { sentences: string[]; replaces: string[] };
}

/**
 * One way of routing polling traffic to nodes. Adding one: this definition in a file here
 * (options schema, flags, plan entries, build, diagnosis), a line in route-registry.ts, its
 * name in ROUTE_KINDS (src/scenario/schema.ts), a test, a sample scenario and a row in
 * scenarios/README.md. Only a route with a new settings section of its own also adds that
 * section to the route schema (schema.ts) and its defaults (resolve.ts, defaults.ts).
 */
export interface RouteDefinition extends RoutePlanner {
  kind: RouteKind;
  build(ctx: RouteContext): Promise<RouteEnvironment>;
  /** Route-specific diagnosis sentences (none: the generic ones). */
  diagnosis: RouteDiagnosisHints;
}

/** `route.registration`: the REST API base URLs tentacles register through (balancer or nodes). */
export function registrationUrls(s: Scenario, nodes: RunningNode[], balancerUrl: string | null): string[] {
  // route.registration: alb is accepted only with route kind alb (src/scenario/resolve.ts), so a balancer URL is there.
  return s.route.registration === 'alb' && balancerUrl ? [balancerUrl] : nodes.map((n) => n.apiUrl);
}

/** `https://host:port`, with `<free port>` for a port chosen at start. */
export function planAddress(scheme: 'https' | 'wss', host: string, port: number, path = ''): string {
  return `${scheme}://${host}:${port === 0 ? '<free port>' : port}${path}`;
}
