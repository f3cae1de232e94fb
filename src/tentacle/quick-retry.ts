import type { ErrorKind } from '../core/errors.js';
import type { ConnectionOutcome } from './polling-connection.js';

/**
 * The quick inner retry loop of a polling connection ([H] section 5), read from Halibut's
 * source/Halibut/Transport/SecureClient.cs (ExecuteTransaction) inside PollingClient.cs:
 * a failure before the connection is acquired -- TCP connect, TLS, writing the `MX`
 * preamble -- is tried again up to `tries` tries in all, `intervalMs` apart, while less
 * than `windowMs` has passed since the first of them. Only when this loop gives up does
 * the outer back-off (src/tentacle/backoff.ts) run. Defaults: PROTOCOL_DEFAULTS
 * retryCountLimit (5), retryListeningSleepIntervalMs (1 s), connectionErrorRetryTimeoutMs
 * (5 min); scenario keys timeouts.retryCountLimit, timeouts.retryListeningSleepInterval,
 * timeouts.connectionErrorRetryTimeout.
 */
export interface QuickRetryPolicy {
  /** Tries in all, the first included (RetryCountLimit); 1 turns quick retries off. */
  tries: number;
  /** Sleep between two tries (RetryListeningSleepInterval). */
  intervalMs: number;
  /** No new try once this long has passed since the first (ConnectionErrorRetryTimeout). */
  windowMs: number;
}

/**
 * Which failures are retried quickly -- the one place that decides it. Retried (as
 * Halibut's SocketException / IOException / generic branches): connect timeouts, resets,
 * other socket errors, an unreachable network, a TLS handshake or WebSocket upgrade that
 * timed out, and the peer closing during TLS or the upgrade.
 *
 * Not retried quickly (straight to the outer back-off):
 * - `tcp.refused` (connection refused: the service is not running) and `dns.failed`
 *   (host not found: "an immediate retry isn't going to help");
 * - `tls.thumbprint-mismatch` and any other TLS failure that is not a close by the peer
 *   (an AuthenticationException, which ends the loop);
 * - anything after identification began (ConnectionOutcome.identificationBegan): from then
 *   on the node may have started on a request, so Halibut does not retry
 *   (`tls.untrusted`, protocol errors, heartbeat and receive timeouts of the session).
 * `tls.handshake-failed` is retried only when the peer closed (EOF, no alert) during TLS.
 */
export const QUICK_RETRY_ERROR_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  'tcp.connect-timeout',
  'tcp.reset',
  'tcp.error',
  'tcp.unreachable',
  'timeout.receive',
  'closed.by-peer',
]);

/** Is this failed attempt retried by the quick inner loop (before the outer back-off)? */
export function isQuicklyRetried(outcome: ConnectionOutcome): boolean {
  if (outcome.reason !== 'error' || outcome.identificationBegan || outcome.errorKind === undefined) return false;
  if (outcome.errorKind === 'tls.handshake-failed') return outcome.closedDuringTls === true;
  return QUICK_RETRY_ERROR_KINDS.has(outcome.errorKind);
}

/** A policy's values as given, checked: tries >= 1, interval and window >= 0. */
export function checkQuickRetryPolicy(p: QuickRetryPolicy): QuickRetryPolicy {
  if (!Number.isInteger(p.tries) || p.tries < 1 || !(p.intervalMs >= 0) || !(p.windowMs >= 0)) {
    throw new RangeError(`quick retries need an integer tries >= 1, intervalMs >= 0 and windowMs >= 0, got ${JSON.stringify(p)}`);
  }
  return p;
}
