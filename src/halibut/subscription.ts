import { randomInt } from 'node:crypto';
import { SUBSCRIPTION_ALPHABET, SUBSCRIPTION_LENGTH } from './constants.js';

/** `poll://` + 20 chars of the reference alphabet, lower-cased, + `/`. */
export function newSubscriptionId(): string {
  let id = '';
  for (let i = 0; i < SUBSCRIPTION_LENGTH; i++) id += SUBSCRIPTION_ALPHABET[randomInt(SUBSCRIPTION_ALPHABET.length)];
  return `poll://${id.toLowerCase()}/`;
}

/**
 * A subscription id as a node parses it: a `poll://` URI. Real Tentacles always use the
 * generated form; other hosts are accepted (Halibut only parses it as a URI).
 */
export function isSubscriptionId(text: string): boolean {
  return /^poll:\/\/[a-z0-9][a-z0-9.-]*\/$/i.test(text);
}

export function isGeneratedSubscriptionId(text: string): boolean {
  const alphabet = SUBSCRIPTION_ALPHABET.toLowerCase();
  const m = /^poll:\/\/([a-z0-9]+)\/$/.exec(text);
  return !!m && m[1]!.length === SUBSCRIPTION_LENGTH && [...m[1]!].every((c) => alphabet.includes(c));
}
