/**
 * Errors raised by the protocol layer. halibut/ imports nothing of ours, so it carries its
 * own small error type; its `kind` strings are a subset of pollfleet's error kinds
 * (src/core/errors.ts) and travel unchanged into events and results.
 */
export type HalibutErrorKind =
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
  | 'closed.by-peer';

export class HalibutError extends Error {
  readonly kind: HalibutErrorKind;
  /** protocol.http-response: the status of the HTTP answer (a data field, as on pollfleet's errors). */
  readonly status: number | undefined;
  constructor(kind: HalibutErrorKind, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HalibutError';
    this.kind = kind;
    this.status = options?.status;
  }
}

export function isHalibutError(e: unknown): e is HalibutError {
  return e instanceof HalibutError;
}
