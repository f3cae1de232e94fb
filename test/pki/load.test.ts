import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import forge from 'node-forge';
import { join } from 'node:path';
import { generateCertificate, generateKeyPair, type CertificateIdentity, type KeyPair } from '../../src/pki/certificate.js';
import { CertificateLoadError, loadPem, loadPfx, toPfx, writeIdentity } from '../../src/pki/load.js';

const dir = mkdtempSync(join(tmpdir(), 'pollfleet-pki-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

let keysPromise: Promise<KeyPair> | null = null;
async function identity(cn = 'Octopus Tentacle'): Promise<CertificateIdentity> {
  keysPromise ??= generateKeyPair();
  return generateCertificate({ commonName: cn, keys: await keysPromise });
}

/** The error thrown by fn, checked to be a CertificateLoadError. */
function loadError(t: Test, fn: () => unknown): CertificateLoadError | null {
  try {
    fn();
  } catch (e) {
    t.ok(e instanceof CertificateLoadError, `a CertificateLoadError (${(e as Error).message})`);
    return e as CertificateLoadError;
  }
  t.fail('expected a CertificateLoadError, nothing was thrown');
  return null;
}

t.test('writeIdentity writes the certificate and a 0600 key; loadPem reads them back', async (t) => {
  const id = await identity();
  const { certFile, keyFile } = writeIdentity(join(dir, 'sub', 'tentacle'), id);
  t.equal(certFile, join(dir, 'sub', 'tentacle.pem'));
  t.equal(keyFile, join(dir, 'sub', 'tentacle.key'));
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'key file mode 0600');
  t.equal(statSync(certFile).mode & 0o077 & ~0o044, 0, 'certificate file not writable by others');
  t.notMatch(readFileSync(certFile, 'utf8'), /PRIVATE KEY/, 'no key in the certificate file');

  const back = loadPem(certFile, keyFile);
  t.equal(back.thumbprint, id.thumbprint);
  t.equal(back.commonName, 'Octopus Tentacle');
  t.ok(back.der.equals(id.der));
  t.equal(back.keyPem, id.keyPem, 'same PKCS#8 key');
  t.equal(back.notAfter.getTime(), Math.floor(id.notAfter.getTime() / 1000) * 1000);

  const combined = join(dir, 'combined.pem');
  writeFileSync(combined, id.certPem + id.keyPem);
  t.equal(loadPem(combined).thumbprint, id.thumbprint, 'certificate and key in one file');
});

t.test('writeIdentity tightens an existing, world-readable key file', async (t) => {
  const id = await identity();
  const base = join(dir, 'existing');
  writeFileSync(`${base}.key`, 'old', { mode: 0o644 });
  chmodSync(`${base}.key`, 0o644);
  const { keyFile } = writeIdentity(base, id);
  t.equal(statSync(keyFile).mode & 0o777, 0o600);
  t.equal(readFileSync(keyFile, 'utf8'), id.keyPem);
});

t.test('PFX round trip, with and without a passphrase', async (t) => {
  const id = await identity();
  for (const passphrase of ['', 'correct horse battery staple']) {
    const file = join(dir, `tentacle-${passphrase ? 'locked' : 'open'}.pfx`);
    writeFileSync(file, toPfx(id, passphrase));
    const back = passphrase ? loadPfx(file, passphrase) : loadPfx(file);
    t.equal(back.thumbprint, id.thumbprint, `thumbprint survives (${passphrase ? 'passphrase' : 'none'})`);
    t.equal(back.commonName, 'Octopus Tentacle');
    t.equal(back.keyPem, id.keyPem, 'same key');
  }
});

t.test('a PFX carrying a chain: the identity is the certificate the key belongs to', async (t) => {
  const id = await identity();
  const issuer = await generateCertificate({ commonName: 'Some CA' }); // its own key pair
  const key = forge.pki.privateKeyFromPem(id.keyPem);
  const chainFirst = forge.pkcs12.toPkcs12Asn1(key, [forge.pki.certificateFromPem(issuer.certPem), forge.pki.certificateFromPem(id.certPem)], 'pw', {
    algorithm: '3des',
  });
  const file = join(dir, 'chain.pfx');
  writeFileSync(file, Buffer.from(forge.asn1.toDer(chainFirst).getBytes(), 'binary'));
  const back = loadPfx(file, 'pw');
  t.equal(back.thumbprint, id.thumbprint, 'the leaf, not the first certificate in the file');
});

t.test('a wrong passphrase is a CertificateLoadError naming the file, never the key or passphrase', async (t) => {
  const id = await identity();
  const file = join(dir, 'locked.pfx');
  writeFileSync(file, toPfx(id, 'right-passphrase'));
  const err = loadError(t, () => loadPfx(file, 'wrong-passphrase'));
  if (!err) return;
  t.equal(err.file, file);
  t.match(err.message, file, 'the message names the file');
  t.match(err.message, /passphrase/);
  t.notMatch(err.message, /PRIVATE KEY|wrong-passphrase|right-passphrase/, 'no key material and no passphrase');
  t.notMatch(err.message, id.keyPem.split('\n')[1]!.slice(0, 20));
});

t.test('missing and malformed files give clear errors', async (t) => {
  const missing = join(dir, 'nope.pem');
  const e1 = loadError(t, () => loadPem(missing));
  t.equal(e1?.message, `${missing}: file not found`);
  const e2 = loadError(t, () => loadPfx(join(dir, 'nope.pfx')));
  t.match(e2?.message ?? '', /nope\.pfx: file not found/);

  const id = await identity();
  const certOnly = join(dir, 'cert-only.pem');
  writeFileSync(certOnly, id.certPem);
  t.match(loadError(t, () => loadPem(certOnly))?.message ?? '', /cert-only\.pem: no PEM private key found/);

  const garbageCert = join(dir, 'garbage.pem');
  writeFileSync(garbageCert, 'hello\n' + id.keyPem);
  t.match(loadError(t, () => loadPem(garbageCert))?.message ?? '', /garbage\.pem: expected a PEM certificate/);

  const other = await generateCertificate({ commonName: 'Other' }); // its own key pair
  const mismatchKey = join(dir, 'other.key');
  writeFileSync(mismatchKey, other.keyPem);
  const certFile = join(dir, 'mine.pem');
  writeFileSync(certFile, id.certPem);
  const e3 = loadError(t, () => loadPem(certFile, mismatchKey));
  t.match(e3?.message ?? '', /other\.key: the private key does not belong to the certificate/);
  t.notMatch(e3?.message ?? '', /BEGIN/, 'no key material in the message');

  const notPfx = join(dir, 'not.pfx');
  writeFileSync(notPfx, 'definitely not PKCS#12');
  t.match(loadError(t, () => loadPfx(notPfx))?.message ?? '', /not\.pfx: /);
});
