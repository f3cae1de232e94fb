import { X509Certificate, createPrivateKey, generateKeyPair as generateNodeKeyPair, privateEncrypt, constants, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { thumbprintOfDer } from './thumbprint.js';

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

/** An RSA key pair as node:crypto key objects. */
export interface KeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

const generateRsa = promisify(generateNodeKeyPair);

/** RSA-2048 key pair, e = 65537 (the size real Tentacles and Servers use). Generated off the main thread by node:crypto. */
export async function generateKeyPair(): Promise<KeyPair> {
  return generateRsa('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
}

export interface GenerateOptions {
  commonName: string;
  /** Reuse a key pair (each certificate still gets its own serial, so its own thumbprint). */
  keys?: KeyPair;
  /** Real Tentacle certificates are valid for ~100 years. */
  validityYears?: number;
  /** Signature hash; default sha256. `sha1` only to test how a SHA-1 signed certificate is diagnosed. */
  signatureHash?: 'sha256' | 'sha1';
  /** Signed by this certificate (a CA) instead of self-signed: tests of TLS interception. */
  issuer?: Pick<CertificateIdentity, 'commonName' | 'keyPem'>;
  /** A CA certificate (basicConstraints cA). */
  isCa?: boolean;
  /** The 16 random bytes the serial is made from (random when omitted; tests pass the worst cases). */
  serialBytes?: Buffer;
}

/** DER prefix of a DigestInfo for SHA-1 (RFC 8017, section 9.2, note 1); the 20 hash bytes follow. */
const SHA1_DIGEST_INFO_PREFIX = Buffer.from('3021300906052b0e03021a05000414', 'hex');

/** DER prefix of a DigestInfo for SHA-256 (RFC 8017, section 9.2, note 1); the 32 hash bytes follow. */
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * RSASSA-PKCS1-v1_5 with SHA-256 by node:crypto, in the shape node-forge's `cert.sign` expects
 * from a key (`sign(md)` returning a binary string). forge's own RSA is pure JavaScript and far
 * too slow for a fleet's worth of certificates; node:crypto signs in OpenSSL.
 */
function nodeSigner(privateKey: KeyObject, hash: 'sha256' | 'sha1' = 'sha256'): { sign(md: forge.md.MessageDigest): string } {
  return {
    sign(md) {
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const digestInfo = Buffer.concat([hash === 'sha1' ? SHA1_DIGEST_INFO_PREFIX : SHA256_DIGEST_INFO_PREFIX, digest]);
      return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
    },
  };
}

/** The public key of a pair in node-forge's form, converted once per pair. */
const forgePublicKeys = new WeakMap<KeyObject, forge.pki.PublicKey>();
function forgePublicKey(publicKey: KeyObject): forge.pki.PublicKey {
  let key = forgePublicKeys.get(publicKey);
  if (!key) {
    key = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    forgePublicKeys.set(publicKey, key);
  }
  return key;
}

/**
 * A certificate serial from 16 random bytes, as hex for node-forge's DER INTEGER: positive (top bit clear) and never starting with a zero byte. forge drops one
 * superfluous leading zero but not two, and OpenSSL refuses the padded INTEGER ("illegal
 * padding"): with only the top bit cleared, one certificate in 32,768 (by the arithmetic) could
 * not be parsed -- at 10,000 tentacles about one run in four would fail making its identities.
 */
export function serialNumberHex(random: Buffer): string {
  const serial = Buffer.from(random);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial.toString('hex');
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
  const serial = serialNumberHex(o.serialBytes ?? randomBytes(16));

  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublicKey(keys.publicKey);
  cert.serialNumber = serial;
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const name = [{ shortName: 'CN', value: o.commonName }];
  cert.setSubject(name);
  cert.setIssuer(o.issuer ? [{ shortName: 'CN', value: o.issuer.commonName }] : name);
  cert.setExtensions([{ name: 'basicConstraints', cA: o.isCa ?? false }]);
  const hash = o.signatureHash ?? 'sha256';
  const signingKey = o.issuer ? createPrivateKey(o.issuer.keyPem) : keys.privateKey;
  // forge's typings want its own private key; any object with sign(md) is what it calls.
  cert.sign(nodeSigner(signingKey, hash) as unknown as forge.pki.rsa.PrivateKey, hash === 'sha1' ? forge.md.sha1.create() : forge.md.sha256.create());

  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  const x = new X509Certificate(der);
  return {
    commonName: o.commonName,
    certPem: x.toString(),
    keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
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

