/**
 * One error type for pollfleet with stable `kind`s. Code matches on `kind`, never on the
 * message or instanceof; kinds travel in events and appear as per-kind counts in a Result.
 */
export type ErrorKind =
  // bad input or configuration (exit 2)
  | 'input.invalid'
  | 'scenario.invalid'
  | 'scenario.not-found'
  | 'environment.failed'
  // network
  | 'dns.failed'
  | 'tcp.connect-timeout'
  | 'tcp.refused'
  | 'tcp.reset'
  | 'tcp.unreachable'
  | 'tcp.error'
  // TLS and trust
  | 'tls.thumbprint-mismatch'
  | 'tls.handshake-failed'
  | 'tls.untrusted'
  // an HTTP CONNECT proxy in the path (src/tentacle/proxy-tunnel.ts): refused the tunnel, or wants credentials (407)
  | 'proxy.connect-denied'
  | 'proxy.auth-required'
  // protocol (see src/halibut/halibut-error.ts)
  | 'protocol.error'
  | 'protocol.bad-preamble'
  | 'protocol.unexpected-identity'
  | 'protocol.unexpected-control'
  | 'protocol.message-too-large'
  | 'protocol.bad-message'
  | 'protocol.stream-mismatch'
  | 'protocol.http-response'
  | 'timeout.receive'
  | 'timeout.heartbeat'
  | 'closed.by-peer'
  // REST / registration
  | 'api.unauthorized'
  | 'api.error'
  | 'registration.failed'
  // a fault could not act (what it needs is not in the path)
  | 'fault.unavailable'
  // verdict
  | 'threshold.failed'
  // a component used after stop() (core/lifecycle.ts): a bug in pollfleet, not bad input
  | 'lifecycle.stopped'
  | 'internal';

export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
/** A bug in pollfleet itself (an exception nobody expected): not the cluster's fault, not the input's. */
export const EXIT_INTERNAL_ERROR = 3;

/**
 * What an error is about, as data (set where the error is made), so nobody parses it back
 * out of the message. Every field is optional and flat; events and Results carry the same
 * shape (src/core/events.ts, src/result/result.ts).
 */
export interface ErrorData {
  /** HTTP status the peer answered (REST API, WebSocket upgrade, an HTTP balancer on the polling port). */
  status?: number;
  /** The server thumbprint the tentacle expected (its server entry). */
  expectedThumbprint?: string;
  /** The thumbprint of the certificate the remote host presented. */
  presentedThumbprint?: string;
  /** Node name (`node1`, ...) when the error is about one node. */
  node?: string;
  /** The address as configured (`host:port`, a URL) when the error is about one. */
  address?: string;
  /** The HTTP CONNECT proxy the connection went through (`host:port`, never credentials). */
  proxy?: string;
  /** Who issued the certificate the remote host presented (its issuer CN): names a TLS-inspecting proxy's CA. */
  presentedIssuer?: string;
}

export const ERROR_DATA_FIELDS = ['status', 'expectedThumbprint', 'presentedThumbprint', 'node', 'address', 'proxy', 'presentedIssuer'] as const satisfies readonly (keyof ErrorData)[];

export interface PollfleetErrorOptions extends ErrorData {
  hint?: string;
  cause?: unknown;
}

export class PollfleetError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly status: number | undefined;
  readonly expectedThumbprint: string | undefined;
  readonly presentedThumbprint: string | undefined;
  readonly node: string | undefined;
  readonly address: string | undefined;
  readonly proxy: string | undefined;
  readonly presentedIssuer: string | undefined;
  constructor(kind: ErrorKind, message: string, options?: PollfleetErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PollfleetError';
    this.kind = kind;
    this.hint = options?.hint;
    this.status = options?.status;
    this.expectedThumbprint = options?.expectedThumbprint;
    this.presentedThumbprint = options?.presentedThumbprint;
    this.node = options?.node;
    this.address = options?.address;
    this.proxy = options?.proxy;
    this.presentedIssuer = options?.presentedIssuer;
  }

  /** The data fields that are set (an empty object when none is). */
  get data(): ErrorData {
    return errorDataOf(this);
  }
}

/**
 * The data fields of any error (ours, the protocol layer's HalibutError, or a plain object
 * that went through a worker thread), only those set and of the right type.
 */
export function errorDataOf(e: unknown): ErrorData {
  const out: ErrorData = {};
  if (e === null || typeof e !== 'object') return out;
  const x = e as Record<string, unknown>;
  if (typeof x['status'] === 'number' && Number.isInteger(x['status'])) out.status = x['status'];
  for (const f of ERROR_DATA_FIELDS) {
    if (f === 'status') continue;
    const v = x[f];
    if (typeof v === 'string' && v !== '') out[f] = v;
  }
  return out;
}

/** Exit code for an error kind that ends a command. */
export function exitCodeFor(kind: ErrorKind): number {
  if (kind === 'threshold.failed') return EXIT_CHECK_FAILED;
  if (kind === 'internal' || kind === 'lifecycle.stopped') return EXIT_INTERNAL_ERROR;
  return EXIT_BAD_INPUT;
}

/**
 * Is this thrown value a bug in pollfleet? Our own errors say by their kind (`internal`);
 * a system error with an errno code (a file that cannot be read, a port in use) is about the
 * environment; anything else (TypeError, RangeError, a thrown string ...) nobody expected.
 */
export function isInternalError(e: unknown): boolean {
  const kind = knownKindOf(e);
  if (kind !== null) return kind === 'internal';
  const code = (e as { code?: unknown } | null)?.code;
  return !(typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code));
}

/**
 * Exit code for anything that ends a command: a PollfleetError by its kind, a system error
 * (errno code) as bad input or environment (2), everything else as an internal error (3).
 * The table is documented in `pollfleet --help` and the README.
 */
export function exitCodeForError(e: unknown): number {
  const kind = knownKindOf(e);
  if (kind !== null) return exitCodeFor(kind);
  return isInternalError(e) ? EXIT_INTERNAL_ERROR : EXIT_BAD_INPUT;
}

/** The kind of our own errors, also after cloning (worker threads, IPC keep fields, not classes); null otherwise. */
function knownKindOf(e: unknown): ErrorKind | null {
  const k = (e as { kind?: unknown } | null)?.kind;
  return typeof k === 'string' && KNOWN_KINDS.has(k) ? (k as ErrorKind) : null;
}

/** Every error kind, checked against ErrorKind at compile time (both directions). */
export const ERROR_KINDS = [
  'input.invalid', 'scenario.invalid', 'scenario.not-found', 'environment.failed', 'dns.failed',
  'tcp.connect-timeout', 'tcp.refused', 'tcp.reset', 'tcp.unreachable', 'tcp.error',
  'tls.thumbprint-mismatch', 'tls.handshake-failed', 'tls.untrusted',
  'proxy.connect-denied', 'proxy.auth-required',
  'protocol.error', 'protocol.bad-preamble', 'protocol.unexpected-identity', 'protocol.unexpected-control',
  'protocol.message-too-large', 'protocol.bad-message', 'protocol.stream-mismatch', 'protocol.http-response',
  'timeout.receive', 'timeout.heartbeat', 'closed.by-peer', 'api.unauthorized', 'api.error',
  'registration.failed', 'threshold.failed', 'internal',
  'fault.unavailable', 'lifecycle.stopped',
] as const satisfies readonly ErrorKind[];
type MissingKinds = Exclude<ErrorKind, (typeof ERROR_KINDS)[number]>;
const allKindsListed: [MissingKinds] extends [never] ? true : MissingKinds = true;
void allKindsListed;

const KNOWN_KINDS = new Set<string>(ERROR_KINDS);

/**
 * Classify anything thrown on a connection into a stable kind: our own errors keep theirs,
 * Node's socket and TLS errors are mapped by code.
 */
export function errorKindOf(e: unknown): ErrorKind {
  const k = (e as { kind?: unknown } | null)?.kind;
  if (typeof k === 'string' && KNOWN_KINDS.has(k)) return k as ErrorKind;
  const code = (e as NodeJS.ErrnoException | null)?.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'tcp.refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'tcp.reset';
    case 'ETIMEDOUT':
      return 'tcp.connect-timeout';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns.failed';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'tcp.unreachable';
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /ssl|tls/i.test((e as Error)?.message ?? '')) {
    return 'tls.handshake-failed';
  }
  if (code.startsWith('E')) return 'tcp.error';
  return 'internal';
}

/** One line for a person: message plus hint, never a stack. */
export function describeError(e: unknown): string {
  if (e instanceof PollfleetError) return e.hint ? `${e.message}\n  hint: ${e.hint}` : e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
