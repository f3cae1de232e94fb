import {
  CRLF,
  IDENTITY_CLIENT,
  IDENTITY_SERVER,
  IDENTITY_SUBSCRIBER,
  PROTOCOL_VERSION,
  type IdentityKind,
} from './constants.js';
import { HalibutError } from './halibut-error.js';

/**
 * The identity line and its blank line, as ONE buffer so it goes out in one write
 * (old services fail when the two arrive in separate writes).
 */
export function identityBytes(kind: IdentityKind, subscriptionId?: string): Buffer {
  const line = kind === IDENTITY_SUBSCRIBER ? `${kind} ${PROTOCOL_VERSION} ${subscriptionId}` : `${kind} ${PROTOCOL_VERSION}`;
  return Buffer.from(line + CRLF + CRLF, 'utf8');
}

export const SERVER_IDENTITY_BYTES = identityBytes(IDENTITY_SERVER);

export interface Identity {
  kind: IdentityKind;
  /** Version token as sent (never checked). */
  version: string;
  /** For MX-SUBSCRIBER: the subscription URI (e.g. `poll://abc.../`). */
  subscriptionId?: string;
}

/** Parse an identity line as a node does: split on spaces, token 0 is the kind, token 2 a URI for subscribers. */
export function parseIdentity(line: string): Identity {
  const http = /^HTTP\/\d(?:\.\d)?(?: (\d{3}))?/.exec(line);
  if (http) {
    throw new HalibutError('protocol.http-response', `an HTTP response arrived instead of an identity: "${line.slice(0, 80)}"`, {
      ...(http[1] ? { status: Number(http[1]) } : {}),
    });
  }
  const tokens = line.split(' ');
  const kind = tokens[0];
  if (kind !== IDENTITY_SUBSCRIBER && kind !== IDENTITY_SERVER && kind !== IDENTITY_CLIENT) {
    throw new HalibutError(
      'protocol.unexpected-identity',
      line === '' ? 'the identity line was empty' : `unknown identity "${line.slice(0, 80)}"`,
    );
  }
  const identity: Identity = { kind, version: tokens[1] ?? '' };
  if (kind === IDENTITY_SUBSCRIBER) {
    const uri = tokens[2] ?? '';
    try {
      new URL(uri);
    } catch {
      throw new HalibutError('protocol.unexpected-identity', `subscriber identity has no valid subscription URI: "${line.slice(0, 80)}"`);
    }
    identity.subscriptionId = uri;
  }
  return identity;
}
