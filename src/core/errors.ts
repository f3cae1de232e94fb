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
  // protocol (see src/halibut/errors.ts)
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

export class PollfleetError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  constructor(kind: ErrorKind, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PollfleetError';
    this.kind = kind;
    this.hint = options?.hint;
  }
}

/** Exit code for an error that ends a command. */
export function exitCodeFor(kind: ErrorKind): number {
  if (kind === 'threshold.failed') return EXIT_CHECK_FAILED;
  if (kind === 'internal') return EXIT_CHECK_FAILED;
  if (kind === 'lifecycle.stopped') return exitCodeFor('internal');
  return EXIT_BAD_INPUT;
}

/** Every error kind, checked against ErrorKind at compile time (both directions). */
export const ERROR_KINDS = [
  'input.invalid', 'scenario.invalid', 'scenario.not-found', 'environment.failed', 'dns.failed',
  'tcp.connect-timeout', 'tcp.refused', 'tcp.reset', 'tcp.unreachable', 'tcp.error',
  'tls.thumbprint-mismatch', 'tls.handshake-failed', 'tls.untrusted',
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
