import t from 'tap';
import { classifyCertificate, signatureAlgorithmOf, type PresentedCertificate } from '../../../src/environment/external/preflight-certificate.js';
import { compareNodes, type ServerNodeSummary } from '../../../src/environment/external/preflight-drift.js';
import { generateCertificate } from '../../../src/pki/certificate.js';
import { driftLines, renderPreflight, verdictText } from '../../../src/report/render-preflight.js';
import type { ExternalNode } from '../../../src/scenario/resolve.js';
import { spawnCli } from '../../helpers/run.js';

const NODE_TP = 'A'.repeat(40);

/** A certificate's fields; the default is an Octopus Server's own self-signed one. */
function cert(over: Partial<PresentedCertificate> = {}): PresentedCertificate {
  return {
    subject: 'CN=Octopus Portal',
    subjectCN: 'Octopus Portal',
    issuer: 'CN=Octopus Portal',
    issuerCN: 'Octopus Portal',
    selfIssued: true,
    signatureAlgorithm: 'sha256WithRSAEncryption',
    keyType: 'RSA',
    keyBits: 2048,
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2126-01-01T00:00:00.000Z',
    thumbprint: NODE_TP,
    chain: ['CN=Octopus Portal'],
    publiclyTrusted: false,
    trustError: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    ...over,
  };
}

const kinds = (c: PresentedCertificate, expected: string | null = NODE_TP) => classifyCertificate(c, expected).map((v) => verdictText(v));

t.test('verdicts from certificate fields', async (t) => {
  t.same(kinds(cert()), ['node certificate as expected']);
  t.same(kinds(cert({ thumbprint: NODE_TP.toLowerCase() })), ['node certificate as expected'], 'letter case is the thumbprint step\'s business, not the verdict\'s');

  // A balancer's own self-signed certificate (what the ALB simulator, HAProxy and nginx present in tests).
  t.same(kinds(cert({ thumbprint: 'B'.repeat(40), subject: 'CN=alb.example', subjectCN: 'alb.example', issuer: 'CN=alb.example', issuerCN: 'alb.example' })),
    ['TLS-terminating device (certificate issued by itself (CN=alb.example))']);

  // A real ALB: a leaf issued by a public CA (the chain verifies against the public roots).
  t.same(kinds(cert({
    thumbprint: 'C'.repeat(40), subject: 'CN=octopus.example.com', subjectCN: 'octopus.example.com', issuer: 'C=US, O=Amazon, CN=Amazon RSA 2048 M02',
    issuerCN: 'Amazon RSA 2048 M02', selfIssued: false, chain: ['CN=octopus.example.com', 'C=US, O=Amazon, CN=Amazon RSA 2048 M02'], publiclyTrusted: true, trustError: null,
  })), ['TLS-terminating device (certificate issued by Amazon RSA 2048 M02)']);

  // TLS inspection: the Octopus subject re-signed by a CA the public roots do not know.
  t.same(kinds(cert({
    thumbprint: 'D'.repeat(40), issuer: 'O=Contoso, CN=Contoso Inspection CA', issuerCN: 'Contoso Inspection CA', selfIssued: false,
    chain: ['CN=Octopus Portal', 'O=Contoso, CN=Contoso Inspection CA', 'O=Contoso, CN=Contoso Root CA'], publiclyTrusted: false, trustError: 'SELF_SIGNED_CERT_IN_CHAIN',
  })), ['TLS interception (the certificate chains to a corporate CA: O=Contoso, CN=Contoso Root CA)']);

  // Self-signed Octopus certificate, another thumbprint: configuration out of date, not a device.
  t.same(kinds(cert({ thumbprint: 'E'.repeat(40) })), ['an Octopus Server certificate, but not the expected thumbprint']);

  // SHA-1 combines with the others.
  t.same(kinds(cert({ signatureAlgorithm: 'sha1WithRSAEncryption' })), ['node certificate as expected', 'SHA-1 signed certificate: modern Linux Tentacles refuse it']);
  t.same(kinds(cert({ signatureAlgorithm: 'sha1WithRSAEncryption', thumbprint: 'F'.repeat(40), subjectCN: 'proxy', subject: 'CN=proxy' })).length, 2);
  t.same(kinds(cert({ signatureAlgorithm: 'sha1WithRSAEncryption' }), null), ['SHA-1 signed certificate: modern Linux Tentacles refuse it'], 'no expected thumbprint: only the SHA-1 check');
});

t.test('the signature algorithm is read from the certificate itself', async (t) => {
  const sha1 = await generateCertificate({ commonName: 'Octopus Portal', signatureHash: 'sha1' });
  const sha256 = await generateCertificate({ commonName: 'Octopus Portal' });
  t.equal(signatureAlgorithmOf(sha1.der), 'sha1WithRSAEncryption');
  t.equal(signatureAlgorithmOf(sha256.der), 'sha256WithRSAEncryption');
  t.equal(signatureAlgorithmOf(Buffer.from('not a certificate')), 'unknown');
});

t.test('the renderer shows the certificate fields and the verdict lines', async (t) => {
  const text = renderPreflight({
    scenario: 'real', pass: false, warnings: [], cluster: [],
    nodes: [{
      name: 'node1', address: '127.0.0.1:10943', steps: [{ step: 'tls', status: 'pass', detail: 'TLSv1.3' }],
      certificate: cert({ signatureAlgorithm: 'sha1WithRSAEncryption' }), tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
      verdicts: [{ kind: 'expected' }, { kind: 'sha1' }],
    }],
  });
  t.match(text, /CERT {2}presented {3}CN=Octopus Portal, issued by itself\n/);
  t.match(text, /sha1WithRSAEncryption, RSA 2048 bits, valid 2026-01-01 to 2126-01-01\n/);
  t.match(text, new RegExp(`thumbprint ${NODE_TP}, TLSv1\\.3 TLS_AES_256_GCM_SHA384\\n`));
  t.match(text, /=> {4}verdict {5}node certificate as expected\n {2}=> {4}verdict {5}SHA-1 signed certificate: modern Linux Tentacles refuse it\n/);
});

const server = (name: string, over: Partial<ServerNodeSummary> = {}): ServerNodeSummary => ({
  id: `OctopusServerNodes-${name}`, name, maxConcurrentTasks: 5, isInMaintenanceMode: false, isOffline: false, lastSeen: null, ...over,
});
const scenarioNode = (name: string, host = '127.0.0.1'): ExternalNode => ({ name, host, port: 10943, address: `${host}:10943`, thumbprint: NODE_TP, apiUrl: null });

t.test('drift: task-processing nodes the scenario never polls, drained and offline nodes named', async (t) => {
  const d = compareNodes([server('node1'), server('node2'), server('node3', { id: 'OctopusServerNodes-OCTO3' })], [scenarioNode('node1'), scenarioNode('node2')], false);
  t.equal(d.status, 'fail');
  t.same(d.neverPolled.map((n) => n.name), ['node3']);
  t.same(driftLines(d).map((l) => `${l.status} ${l.detail}`), ['fail 3 nodes process tasks, the scenario polls 2: node3 (OCTO3) is never polled']);

  // Matched by the host's first label against the node id (the machine name the node was created with).
  const byHost = compareNodes([server('Octopus A', { id: 'OctopusServerNodes-octo1' })], [scenarioNode('primary', 'octo1.example.com')], false);
  t.equal(byHost.status, 'pass');
  t.same(byHost.polled, [{ scenarioNode: 'primary', serverNode: 'Octopus A' }]);

  const drained = compareNodes([server('node1'), server('node2', { isInMaintenanceMode: true }), server('node3', { isOffline: true }), server('node4', { maxConcurrentTasks: 0 })], [scenarioNode('node1'), scenarioNode('node9')], false);
  t.equal(drained.status, 'pass', 'drained, offline and task-less nodes are not processing: nothing is lost there');
  t.same(driftLines(drained).map((l) => l.detail), [
    '1 node processes tasks, the scenario polls 2: every one is polled',
    'node2 is drained (maintenance mode): no new tasks there until drain mode is turned off',
    'node3 is offline (not seen recently)',
    'node9 in the scenario matches no server node by name (node names: node1, node2, node3, node4)',
  ]);

  const shared = compareNodes([server('node1'), server('node2')], [scenarioNode('node1')], true);
  t.equal(shared.status, 'pass', 'multi-node polling: one shared queue, an unpolled node loses no work');
  t.match(driftLines(shared)[0]!.detail, /node2 is never polled, which multi-node polling \(one shared queue\) allows/);
});

t.test('preflight --help names what it can tell apart', async (t) => {
  const p = spawnCli(['preflight', '--help']);
  const { code } = await p.exited(20_000);
  t.equal(code, 0);
  const help = p.stdout().replace(/\s+/g, ' ');
  for (const phrase of ['TLS-terminating device', 'TLS interception', 'SHA-1', 'drift', 'wss URL', 'fresh subscription', 'never polled']) {
    t.ok(help.includes(phrase), `--help mentions ${phrase}`);
  }
});
