import { PollfleetError } from '../core/errors.js';

/**
 * The base every API path is appended to: origin plus path, without a trailing `/`, query,
 * fragment or credentials (a password inside a URL never reaches a message).
 */
export function apiBaseUrl(apiUrl: string): string {
  let u: URL;
  try {
    u = new URL(apiUrl);
  } catch {
    throw new PollfleetError('input.invalid', `apiUrl ${JSON.stringify(apiUrl)} is not a URL (expected e.g. https://octopus.example.com)`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new PollfleetError('input.invalid', `apiUrl ${JSON.stringify(apiUrl)}: expected http:// or https://`);
  }
  return u.origin + u.pathname.replace(/\/+$/, '');
}
