import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import forge from 'node-forge';
import { thumbprintOfDer } from '../../pki/thumbprint.js';

/**
 * What a polling port presented in its TLS handshake, as fields, and what that certificate
 * says about the path: the node's own certificate, a TLS-terminating device's, a TLS
 * interception proxy's (issued by a CA the public trust store does not know), and whether it
 * is SHA-1 signed. Rendering is src/report/render-preflight.ts.
 */

/** The certificate presented on a polling port. */
export interface PresentedCertificate {
  /** Distinguished name as `CN=..., O=...`. */
  subject: string;
  subjectCN: string;
  issuer: string;
  issuerCN: string;
  /** Issuer equals subject: self-signed (Octopus Server's own certificate is). */
  selfIssued: boolean;
  /** e.g. `sha256WithRSAEncryption`, `sha1WithRSAEncryption`, `ecdsa-with-SHA256`. */
  signatureAlgorithm: string;
  keyType: 'RSA' | 'EC' | 'unknown';
  keyBits: number | null;
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  /** SHA-1 of the DER, upper-case hex: the thumbprint Tentacle compares. */
  thumbprint: string;
  /** Subjects of the certificates the server sent, leaf first (a CA-issued chain has more than one). */
  chain: string[];
  /** The chain verifies against Node's bundled public roots. */
  publiclyTrusted: boolean;
  /** OpenSSL's reason when it does not (e.g. SELF_SIGNED_CERT_IN_CHAIN). */
  trustError: string | null;
}

export interface TlsSessionInfo {
  protocol: string;
  cipher: string;
}

/**
 * What the presented certificate means. `tls-terminating` and `tls-interception` and
 * `other-octopus-certificate` exclude each other and `expected`; `sha1` can come with any.
 */
export type CertificateVerdict =
  | { kind: 'expected' }
  /** A device (ALB, HAProxy/nginx in http mode, an NLB TLS listener) ends TLS with its own certificate. */
  | { kind: 'tls-terminating'; issuer: string }
  /** A proxy re-signs the connection with a CA the public trust store does not know (a corporate CA). */
  | { kind: 'tls-interception'; issuer: string; root: string }
  /** Self-signed like an Octopus Server certificate, but not the expected thumbprint (configuration out of date). */
  | { kind: 'other-octopus-certificate' }
  /** Modern Linux Tentacles (OpenSSL 3 defaults) refuse a SHA-1 signed certificate. */
  | { kind: 'sha1' };

/** The common name Octopus Server gives its self-signed certificate. */
export const OCTOPUS_SERVER_CN = 'Octopus Portal';

function rdn(name: unknown): string {
  if (!name || typeof name !== 'object') return '';
  return Object.entries(name as Record<string, unknown>)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(', ');
}

function cn(name: unknown): string {
  const v = (name as Record<string, unknown> | undefined)?.['CN'];
  return Array.isArray(v) ? String(v[0]) : typeof v === 'string' ? v : '';
}

/** The certificate's signatureAlgorithm OID by name (Node 20's X509Certificate does not expose it). */
export function signatureAlgorithmOf(der: Buffer): string {
  try {
    const asn1 = forge.asn1.fromDer(der.toString('binary'));
    const algId = (asn1.value as forge.asn1.Asn1[])[1]!;
    const oidNode = (algId.value as forge.asn1.Asn1[])[0]!;
    const oid = forge.asn1.derToOid(oidNode.value as string);
    return (forge.pki.oids as Record<string, string | undefined>)[oid] ?? oid;
  } catch {
    return 'unknown';
  }
}

/** Fields of the certificate `socket` was presented (after secureConnect). */
export function presentedCertificate(socket: TLSSocket): PresentedCertificate | null {
  const leaf = socket.getPeerCertificate(true);
  if (!leaf?.raw) return null;
  const chain: string[] = [];
  const seen = new Set<unknown>();
  for (let c: DetailedPeerCertificate | undefined = leaf; c?.raw && !seen.has(c); c = c.issuerCertificate) {
    seen.add(c);
    chain.push(rdn(c.subject));
  }
  const subject = rdn(leaf.subject);
  const issuer = rdn(leaf.issuer);
  const authError = socket.authorizationError as unknown;
  return {
    subject,
    subjectCN: cn(leaf.subject),
    issuer,
    issuerCN: cn(leaf.issuer),
    selfIssued: subject === issuer,
    signatureAlgorithm: signatureAlgorithmOf(leaf.raw),
    keyType: leaf.modulus ? 'RSA' : leaf.asn1Curve ? 'EC' : 'unknown',
    keyBits: typeof leaf.bits === 'number' ? leaf.bits : null,
    notBefore: new Date(leaf.valid_from).toISOString(),
    notAfter: new Date(leaf.valid_to).toISOString(),
    thumbprint: thumbprintOfDer(leaf.raw),
    chain,
    publiclyTrusted: socket.authorized,
    trustError: socket.authorized ? null : authError instanceof Error ? authError.message : authError ? String(authError) : null,
  };
}

export function tlsSession(socket: TLSSocket): TlsSessionInfo {
  return { protocol: socket.getProtocol() ?? '?', cipher: socket.getCipher()?.name ?? '?' };
}

/**
 * Name what the presented certificate means for a polling Tentacle that expects
 * `expectedThumbprint` (null: none configured -- only the SHA-1 check applies then).
 */
export function classifyCertificate(c: PresentedCertificate, expectedThumbprint: string | null): CertificateVerdict[] {
  const out: CertificateVerdict[] = [];
  if (expectedThumbprint !== null) {
    if (c.thumbprint.toUpperCase() === expectedThumbprint.toUpperCase()) out.push({ kind: 'expected' });
    else if (!c.selfIssued && !c.publiclyTrusted) {
      // A leaf issued by a CA outside the public trust store: what TLS inspection (a corporate CA re-signing) presents.
      out.push({ kind: 'tls-interception', issuer: c.issuerCN || c.issuer, root: c.chain.length > 1 ? c.chain[c.chain.length - 1]! : c.issuer });
    } else if (!c.selfIssued) out.push({ kind: 'tls-terminating', issuer: c.issuerCN || c.issuer });
    else if (c.subjectCN === OCTOPUS_SERVER_CN) out.push({ kind: 'other-octopus-certificate' });
    else out.push({ kind: 'tls-terminating', issuer: `itself (${c.subject || 'no subject'})` });
  }
  if (/sha1/i.test(c.signatureAlgorithm)) out.push({ kind: 'sha1' });
  return out;
}
