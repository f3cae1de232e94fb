import { writeFileSync, mkdirSync, chmodSync, existsSync } from 'node:fs';
import { InputTooLargeError, readInputFile } from '../core/read-input.js';
import { dirname } from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import type { CertificateIdentity } from './certificate.js';
import { thumbprintOfDer } from './thumbprint.js';

/** Why a certificate or key could not be loaded; the message names the file, never the key. */
export class CertificateLoadError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'CertificateLoadError';
  }
}

/** A certificate, a key or a PFX with its chain is a few KB. */
const CERTIFICATE_FILE_MAX_BYTES = 1024 * 1024;

function read(path: string): Buffer {
  try {
    return readInputFile(path, CERTIFICATE_FILE_MAX_BYTES);
  } catch (e) {
    if (e instanceof InputTooLargeError) throw new CertificateLoadError(path, `more than ${CERTIFICATE_FILE_MAX_BYTES / (1024 * 1024)} MiB: not a certificate, key or PFX`);
    throw new CertificateLoadError(path, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message);
  }
}

function fromPems(certPem: string, keyPem: string, certFile: string, keyFile: string): CertificateIdentity {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new CertificateLoadError(certFile, 'expected a PEM certificate (-----BEGIN CERTIFICATE-----)');
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new CertificateLoadError(keyFile, 'expected a PEM private key (PKCS#8 or PKCS#1), unencrypted');
  }
  if (!cert.checkPrivateKey(key)) throw new CertificateLoadError(keyFile, 'the private key does not belong to the certificate');
  const cn = /CN=([^\n,]+)/.exec(cert.subject)?.[1] ?? cert.subject;
  return {
    commonName: cn,
    certPem: cert.toString(),
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    der: Buffer.from(cert.raw),
    thumbprint: thumbprintOfDer(cert.raw),
    notAfter: new Date(cert.validTo),
  };
}

/** A certificate and its key from PEM files (the key may also be in the certificate file). */
export function loadPem(certFile: string, keyFile: string = certFile): CertificateIdentity {
  const certText = read(certFile).toString('utf8');
  const keyText = keyFile === certFile ? certText : read(keyFile).toString('utf8');
  const keyPem = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(keyText)?.[0];
  if (!keyPem) throw new CertificateLoadError(keyFile, 'no PEM private key found');
  return fromPems(certText, keyPem, certFile, keyFile);
}

/** A certificate and key from a PFX / PKCS#12 file (as Tentacle exports with `export-certificate`). */
export function loadPfx(file: string, passphrase = ''): CertificateIdentity {
  const bytes = read(file);
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, passphrase);
  } catch (e) {
    const msg = /mac|password|invalid/i.test((e as Error).message) ? 'wrong passphrase or not a PFX file' : 'not a readable PFX / PKCS#12 file';
    throw new CertificateLoadError(file, msg);
  }
  const certs = (p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? []).flatMap((b) => (b.cert ? [b.cert] : []));
  const keyBag =
    p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag]?.[0] ??
    p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag]?.[0];
  if (certs.length === 0) throw new CertificateLoadError(file, 'the PFX holds no certificate');
  if (!keyBag?.key) throw new CertificateLoadError(file, 'the PFX holds no private key');
  // A PFX may carry a chain in any order: the identity is the certificate the key belongs to.
  const key = keyBag.key as forge.pki.rsa.PrivateKey;
  const own = certs.find((c) => {
    const pub = c.publicKey as forge.pki.rsa.PublicKey;
    return pub.n !== undefined && key.n !== undefined && pub.n.equals(key.n) && pub.e.equals(key.e);
  });
  return fromPems(forge.pki.certificateToPem(own ?? certs[0]!), forge.pki.privateKeyToPem(keyBag.key), file, file);
}

/** A PFX of an identity (for handing to tools that want one). */
export function toPfx(id: CertificateIdentity, passphrase = ''): Buffer {
  const cert = forge.pki.certificateFromPem(id.certPem);
  const key = forge.pki.privateKeyFromPem(id.keyPem);
  const p12 = forge.pkcs12.toPkcs12Asn1(key, [cert], passphrase, { algorithm: '3des' });
  return Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary');
}

/** Write `<base>.pem` (certificate, 0644) and `<base>.key` (private key, 0600). */
export function writeIdentity(base: string, id: CertificateIdentity): { certFile: string; keyFile: string } {
  mkdirSync(dirname(base), { recursive: true });
  const certFile = `${base}.pem`;
  const keyFile = `${base}.key`;
  writeFileSync(certFile, id.certPem, { mode: 0o644 });
  // `mode` only applies when the file is created: tighten an existing key file *before*
  // the key is written into it, so the key is never readable by others, not even briefly.
  if (existsSync(keyFile)) chmodSync(keyFile, 0o600);
  writeFileSync(keyFile, id.keyPem, { mode: 0o600 });
  chmodSync(keyFile, 0o600); // and again, in case a umask or a race left it wider
  return { certFile, keyFile };
}
