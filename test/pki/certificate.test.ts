import t from 'tap';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import forge from 'node-forge';
import { describeCertificate, generateCertificate, generateKeyPair, serialNumberHex } from '../../src/pki/certificate.js';
import { isThumbprint, normaliseThumbprint, thumbprintOfDer, thumbprintOfPem } from '../../src/pki/thumbprint.js';

const YEAR_MS = 365.25 * 24 * 3600 * 1000;

t.test('generateCertificate: RSA-2048, sha256WithRSAEncryption, CN, ~100 years, SHA-1 thumbprint', async (t) => {
  const id = await generateCertificate({ commonName: 'Octopus Tentacle' });
  const x = new X509Certificate(id.certPem);

  const key = x.publicKey;
  t.equal(key.asymmetricKeyType, 'rsa');
  t.equal(key.asymmetricKeyDetails?.modulusLength, 2048, 'RSA 2048');
  t.equal(key.asymmetricKeyDetails?.publicExponent, 65537n);

  const parsed = forge.pki.certificateFromPem(id.certPem);
  t.equal(parsed.siginfo.algorithmOid, '1.2.840.113549.1.1.11', 'signature algorithm sha256WithRSAEncryption');
  t.equal(forge.pki.oids[parsed.siginfo.algorithmOid], 'sha256WithRSAEncryption');

  t.equal(x.subject, 'CN=Octopus Tentacle', 'CN as given');
  t.equal(x.issuer, 'CN=Octopus Tentacle', 'self-signed');
  t.ok(x.verify(x.publicKey), 'signature verifies with its own key');
  t.equal(id.commonName, 'Octopus Tentacle');

  const from = new Date(x.validFrom).getTime();
  const to = new Date(x.validTo).getTime();
  const years = (to - from) / YEAR_MS;
  t.ok(years > 99.9 && years < 100.1, `valid for ${years.toFixed(2)} years`);
  t.ok(from <= Date.now(), 'already valid');
  t.equal(Math.abs(id.notAfter.getTime() - to) < 1000, true, 'notAfter matches the certificate');

  const fromNode = x.fingerprint.replace(/:/g, '');
  t.equal(id.thumbprint, fromNode, 'thumbprint = node:crypto SHA-1 fingerprint without colons');
  t.match(id.thumbprint, /^[0-9A-F]{40}$/, '40 upper-case hex chars');
  t.equal(thumbprintOfDer(id.der), id.thumbprint);
  t.equal(thumbprintOfPem(id.certPem), id.thumbprint);
  t.ok(Buffer.from(x.raw).equals(id.der), 'der is the certificate DER');

  t.match(id.keyPem, /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8 key');
  t.ok(x.checkPrivateKey(createPrivateKey(id.keyPem)), 'the key belongs to the certificate');

  const d = describeCertificate(id.certPem);
  t.same(d, { subject: 'CN=Octopus Tentacle', validTo: x.validTo, thumbprint: id.thumbprint });
  t.notMatch(JSON.stringify(d), /PRIVATE/, 'the description carries no key');
});

t.test('two certificates sharing one key pair still have different thumbprints', async (t) => {
  const keys = await generateKeyPair();
  const a = await generateCertificate({ commonName: 'Octopus Tentacle', keys });
  const b = await generateCertificate({ commonName: 'Octopus Tentacle', keys });
  t.not(a.thumbprint, b.thumbprint);
  const pa = createPublicKey(a.certPem).export({ type: 'spki', format: 'der' });
  const pb = createPublicKey(b.certPem).export({ type: 'spki', format: 'der' });
  t.ok(pa.equals(pb), 'same public key');
  t.equal(a.keyPem, b.keyPem, 'same private key');
  const sa = new X509Certificate(a.certPem).serialNumber;
  const sb = new X509Certificate(b.certPem).serialNumber;
  t.not(sa, sb, 'different serial numbers');
});

t.test('validityYears is honoured', async (t) => {
  const keys = await generateKeyPair();
  const id = await generateCertificate({ commonName: 'Short', keys, validityYears: 1 });
  const x = new X509Certificate(id.certPem);
  const years = (new Date(x.validTo).getTime() - new Date(x.validFrom).getTime()) / YEAR_MS;
  t.ok(years > 0.99 && years < 1.01, `valid for ${years.toFixed(3)} years`);
});

t.test('thumbprint helpers', async (t) => {
  t.ok(isThumbprint('77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6'));
  t.notOk(isThumbprint('77751f90f9eedcee0c0cd84f7a3cc726ad123fa6'), 'lower case is not the canonical form');
  t.notOk(isThumbprint('77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA'), '39 chars');
  t.equal(normaliseThumbprint('77:75:1f:90:f9:ee:dc:ee:0c:0c:d8:4f:7a:3c:c7:26:ad:12:3f:a6'), '77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6');
  t.equal(normaliseThumbprint(' 77751f90f9eedcee0c0cd84f7a3cc726ad123fa6 '), '77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6');
  t.equal(normaliseThumbprint('not a thumbprint'), null);
});

t.test('serial numbers: positive, no leading zero byte, so every certificate parses', async (t) => {
  t.equal(serialNumberHex(Buffer.alloc(16)).slice(0, 2), '01', 'all-zero random bytes still start with a non-zero byte');
  t.equal(serialNumberHex(Buffer.alloc(16, 0xff)).slice(0, 2), '7f', 'the top bit is cleared (a positive INTEGER)');
  const keys = await generateKeyPair();
  // Two leading zero bytes once made a certificate OpenSSL refused ("illegal padding"): one in ~32,768.
  for (const serialBytes of [Buffer.alloc(16), Buffer.from('00001ce66e8d9152cc9113e2a4e00538', 'hex'), Buffer.from('0080' + 'aa'.repeat(14), 'hex')]) {
    const id = await generateCertificate({ commonName: 'Octopus Tentacle', keys, serialBytes });
    const x = new X509Certificate(id.der);
    t.match(x.serialNumber, /^(0[1-9A-F]|[1-7][0-9A-F])[0-9A-F]{30}$/i, `serial ${serialBytes.toString('hex').slice(0, 6)}... parses as ${x.serialNumber.slice(0, 6)}...`);
  }
});
