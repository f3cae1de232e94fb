import { redactText } from '../core/redact.js';

/**
 * Remove a secret (the API key) from text that is about to leave: server messages may echo
 * headers. The key itself becomes `API-***`; everything else core/redact.ts recognises
 * (passwords in URLs, key material, other API keys) is redacted too.
 */
export function scrubSecret(text: string, secret: string | null | undefined): string {
  const scrubbed = secret && secret.length >= 4 ? text.split(secret).join('API-***') : text;
  return redactText(scrubbed);
}
