import type { BalancerBinary } from './find-binary.js';

/**
 * The shapes a real balancer is described with: the spec (frontends, targets, timeouts,
 * health check), the running handle, and what one kind (haproxy.ts, nginx.ts) contributes.
 * Kept apart from real-balancer.ts so the kinds can use them without importing the process
 * handling that imports the kinds.
 */

export type RealBalancerKind = 'haproxy' | 'nginx';
export type BalanceAlgorithm = 'roundrobin' | 'leastconn' | 'source';

export interface BalancerTarget {
  name: string;
  host: string;
  port: number;
  /**
   * Where the health check goes when not to host:port (HAProxy `addr`/`port`): a tcp
   * frontend's HTTP check of the node's REST API. `tls`: the check speaks HTTPS.
   */
  check?: { host: string; port: number; tls?: boolean };
}

export interface HttpBalancerTarget extends BalancerTarget {
  /** The target speaks HTTPS (its certificate is not verified). */
  tls?: boolean;
}

/**
 * TCP pass-through: TLS stays end to end. Single address = one frontend with every node;
 * unique port = one frontend per node port with one target each.
 */
export interface TcpFrontend {
  mode: 'tcp';
  name: string;
  /** 0 = pick a free port. */
  port: number;
  targets: BalancerTarget[];
  /** Default roundrobin. */
  balance?: BalanceAlgorithm;
}

/** ALB stand-in: terminates TLS with its own certificate and speaks HTTP/1.1 to the targets, round robin. */
export interface HttpTlsFrontend {
  mode: 'http-tls';
  name: string;
  /** 0 = pick a free port. */
  port: number;
  certPem: string;
  /** A secret: written 0600, never logged. */
  keyPem: string;
  targets: HttpBalancerTarget[];
  /** Default roundrobin; leastconn stands in for an ALB's least outstanding requests. */
  balance?: 'roundrobin' | 'leastconn';
}

/**
 * SNI passthrough on one port: the balancer reads the TLS ClientHello's server name and
 * forwards the untouched TLS stream to that name's targets (HAProxy `req.ssl_sni`, nginx
 * `ssl_preread`). A name with no targets, or no name, is closed (no default backend).
 */
export interface SniFrontend {
  mode: 'sni';
  name: string;
  /** 0 = pick a free port. */
  port: number;
  /** Server name (lower case) -> its targets, round robin; an empty list = no mapping for that name. */
  routes: { serverName: string; targets: BalancerTarget[] }[];
  /** How long to wait for the ClientHello (HAProxy tcp-request inspect-delay, nginx preread_timeout). */
  inspectDelayMs: number;
}

export type RealFrontend = TcpFrontend | HttpTlsFrontend | SniFrontend;

export interface BalancerTimeouts {
  connectMs: number;
  /** Client-side inactivity. In tcp mode keep it long, or the balancer closes idle polling connections. */
  clientMs: number;
  /** Server-side inactivity. */
  serverMs: number;
  /** Inactivity once a connection is a tunnel (tcp mode, WebSocket). Defaults to the longer of client and server. */
  tunnelMs?: number;
}

export interface BalancerHealthCheck {
  intervalMs: number;
  /**
   * An HTTP GET of this path (e.g. /api/octopusservernodes/ping): always on http-tls
   * frontends when given; on tcp frontends only with `protocol` http or https (to each
   * target's `check` address). Without it a check is a TCP connect.
   */
  path?: string;
  /** tcp frontends: how to check (default tcp: connect only). */
  protocol?: 'tcp' | 'http' | 'https';
  /** A check must answer within this (HAProxy `timeout check`); the interval otherwise. */
  timeoutMs?: number;
  /** Consecutive passes that make a target healthy again (HAProxy `rise`). */
  healthyThreshold?: number;
  /** Consecutive failures that make a target unhealthy (HAProxy `fall`). */
  unhealthyThreshold?: number;
  /** What happens to a target's connections when it turns unhealthy: `reset` closes them (HAProxy `on-marked-down shutdown-sessions`), `keep` lets them run. Default keep. */
  onUnhealthy?: 'reset' | 'keep';
}

export interface RealBalancerSpec {
  kind: RealBalancerKind;
  /** Where the configuration, pid file and certificate files go (a run's folder or a temp dir). */
  workDir: string;
  /** An IPv4 address of this machine, e.g. 127.0.0.1 or 127.0.0.20. */
  listenHost: string;
  frontends: RealFrontend[];
  timeouts: BalancerTimeouts;
  healthCheck?: BalancerHealthCheck;
  /** Defaults to REAL_BALANCER_DEFAULTS.maxConnections; lowered to what the open-files limit allows. */
  maxConnections?: number;
}

export interface RunningBalancer {
  readonly kind: RealBalancerKind;
  /** The actual ports, in the order of spec.frontends. */
  readonly ports: number[];
  readonly pid: number;
  readonly configPath: string;
  /** The connection limit in effect: the spec's, lowered to what the open-files limit allows. */
  readonly maxConnections: number;
  /** SIGTERM, then SIGKILL after stopTimeoutMs; resolves when the process (and any worker) is gone. Idempotent. */
  stop(): Promise<void>;
  isRunning(): boolean;
  /** The latest output of the program (bounded). Never holds a private key. */
  logTail(): string;
}

/** Process handling settings; every one has a named default. */
export interface RealBalancerSettings {
  /** Use this program instead of looking it up in PATH and the sbin folders. */
  binaryPath?: string;
  configCheckTimeoutMs: number;
  startTimeoutMs: number;
  readinessProbeIntervalMs: number;
  stopTimeoutMs: number;
  logTailBytes: number;
  /** One readiness probe's connect may take this long (REAL_BALANCER_DEFAULTS). */
  readinessProbeConnectTimeoutMs?: number;
  /** After the program exited while starting, wait this long for the rest of its output. */
  exitOutputWaitMs?: number;
}

/** The spec after validation: absolute workDir, every port chosen, every default applied. */
export interface ResolvedBalancerSpec extends RealBalancerSpec {
  maxConnections: number;
}

/** One file a kind writes into the work dir. Secret files (keys) are written 0600. */
export interface BalancerFile {
  name: string;
  content: string;
  isSecret: boolean;
}

/** What one kind of balancer contributes: files and command lines. */
export interface BalancerDefinition {
  kind: RealBalancerKind;
  binary: BalancerBinary;
  /** Kind-specific rules on top of the common schema; each issue names its field. */
  validate(spec: RealBalancerSpec): string[];
  /** The files to write; the first one is the configuration. May ask the program about itself. */
  render(spec: ResolvedBalancerSpec, host: { binaryPath: string; commandTimeoutMs: number }): Promise<BalancerFile[]>;
  checkArgs(configPath: string, workDir: string): string[];
  runArgs(configPath: string, workDir: string): string[];
}

