import { createHash, X509Certificate } from 'node:crypto';

/** SHA-1 over the certificate's DER bytes, 40 upper-case hex chars, no separators. */
export function thumbprintOfDer(der: Uint8Array): string {
  return createHash('sha1').update(der).digest('hex').toUpperCase();
}

/** Thumbprint of a PEM certificate (the first one in the text). */
export function thumbprintOfPem(pem: string): string {
  return thumbprintOfDer(new X509Certificate(pem).raw);
}

export function isThumbprint(text: string): boolean {
  return /^[0-9A-F]{40}$/.test(text);
}

/** Accept any case and separators from a user; return the canonical form (or null if not 40 hex). */
export function normaliseThumbprint(text: string): string | null {
  const t = text.replace(/[\s:]/g, '').toUpperCase();
  return isThumbprint(t) ? t : null;
}
