import 'reflect-metadata';
import { webcrypto, X509Certificate, randomBytes } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { thumbprintOfDer } from './thumbprint.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** A certificate with its private key, as both ends of a polling connection use one. */
export interface CertificateIdentity {
  commonName: string;
  certPem: string;
  /** PKCS#8 PEM. A secret: never logged, never written to a report. */
  keyPem: string;
  der: Buffer;
  thumbprint: string;
  notAfter: Date;
}

const RSA_ALG = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

/** RSA-2048 key pair (the size real Tentacles and Servers use). */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(RSA_ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

function toPem(der: ArrayBuffer | Uint8Array, label: string): string {
  const b64 = Buffer.from(der as ArrayBuffer).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export interface GenerateOptions {
  commonName: string;
  /** Reuse a key pair (each certificate still gets its own serial, so its own thumbprint). */
  keys?: CryptoKeyPair;
  /** Real Tentacle certificates are valid for ~100 years. */
  validityYears?: number;
}

/**
 * A self-signed RSA-2048 / SHA-256 certificate like the ones Tentacles (`CN=Octopus Tentacle`)
 * and Octopus Servers (`CN=Octopus Portal`) generate.
 */
export async function generateCertificate(o: GenerateOptions): Promise<CertificateIdentity> {
  const keys = o.keys ?? (await generateKeyPair());
  const notBefore = new Date(Date.now() - 24 * 3600 * 1000);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + (o.validityYears ?? 100));
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // positive
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=${o.commonName}`,
    notBefore,
    notAfter,
    signingAlgorithm: RSA_ALG,
    keys,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, false)],
  });
  const der = Buffer.from(cert.rawData);
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return {
    commonName: o.commonName,
    certPem: toPem(der, 'CERTIFICATE'),
    keyPem: toPem(pkcs8, 'PRIVATE KEY'),
    der,
    thumbprint: thumbprintOfDer(der),
    notAfter,
  };
}

/** Details of a PEM certificate for people (subject, validity, thumbprint). */
export function describeCertificate(pem: string): { subject: string; validTo: string; thumbprint: string } {
  const c = new X509Certificate(pem);
  return { subject: c.subject, validTo: c.validTo, thumbprint: thumbprintOfDer(c.raw) };
}
