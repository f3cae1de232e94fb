import { lookup } from 'node:dns/promises';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { now } from '../../core/clock.js';
import { errorKindOf } from '../../core/errors.js';
import { newSubscriptionId } from '../../halibut/subscription.js';
import type { CertificateIdentity } from '../../pki/certificate.js';
import { OctopusClient, type ApiAnswer } from '../../octopus-api/octopus-client.js';
import { REDIS_STATUS_PATH, ROOT_PATH } from '../../octopus-api/api-paths.js';
import { lintRedis } from './preflight-redis.js';
import { checkPollingPort } from '../../octopus-api/polling-port-check.js';
import { PING_PATH, PREFLIGHT_DEFAULTS, TENTACLE_DEFAULTS } from '../../scenario/defaults.js';
import type { ExternalNode, Scenario } from '../../scenario/resolve.js';
import { runPollingConnection } from '../../tentacle/polling-connection.js';
import { pollingAddress, serverEntry } from '../../tentacle/server-entry.js';
import { TentacleServices } from '../../tentacle/services.js';
import { preambleBytes, tentacleSecureContext } from '../../tentacle/tentacle.js';
import { scrubKey } from './api-key-source.js';
import { checkDrift, type DriftReport } from './preflight-drift.js';
import { classifyCertificate, presentedCertificate, tlsSession, type CertificateVerdict, type PresentedCertificate, type TlsSessionInfo } from './preflight-certificate.js';

/**
 * `pollfleet preflight`: what stands between a polling Tentacle and each node, one step at
 * a time, each with pass/fail and a fix hint: DNS (every address), TCP connect, TLS
 * handshake (the certificate presented, named: see preflight-certificate.ts), presented vs
 * expected thumbprint, the page register-with POSTs to (`/handshake`, or the wss URL), a
 * full MX-SUBSCRIBER / MX-SERVER identification with a fresh subscription (when an identity
 * the cluster trusts is at hand), the node's ping, and -- for the cluster -- the Redis status
 * (multi-node polling), the registration API through the public URL, and drift (the cluster's
 * task-processing nodes against the scenario's addresses, with an API key: preflight-drift.ts). Read-only: it registers
 * nothing (the caller may register a synthetic identity first, see the CLI's --register).
 */

export type StepStatus = 'pass' | 'fail' | 'skip';

export interface PreflightStep {
  step: 'dns' | 'tcp' | 'tls' | 'thumbprint' | 'handshake' | 'identify' | 'ping' | 'api' | 'redis' | 'register';
  status: StepStatus;
  detail: string;
  hint?: string;
  durationMs?: number;
}

export interface PreflightNode {
  name: string;
  address: string;
  steps: PreflightStep[];
  /** What the polling port presented (null: no TLS handshake completed). */
  certificate: PresentedCertificate | null;
  tls: TlsSessionInfo | null;
  /** What the certificate means (empty without one). */
  verdicts: CertificateVerdict[];
}

export interface PreflightReport {
  scenario: string;
  pass: boolean;
  nodes: PreflightNode[];
  cluster: PreflightStep[];
  /** The cluster's task-processing nodes against the scenario's polling addresses. */
  drift: DriftReport;
  warnings: string[];
}

export type PreflightTimeouts = { [K in keyof typeof PREFLIGHT_DEFAULTS]: number };

export interface PreflightIdentity {
  identity: CertificateIdentity;
  subscriptionId: string;
  /** Where it came from, for the step line. */
  label: string;
}

export interface PreflightOptions {
  /** A secret: sent in a header only, scrubbed from every detail. */
  apiKey: string | null;
  /** The tentacle identity to identify with; the identify step is skipped without one. */
  identity: PreflightIdentity | null;
  timeouts?: Partial<PreflightTimeouts>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`${what} did not complete within ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const NETWORK_HINTS: Partial<Record<string, string>> = {
  'tcp.refused': 'nothing listens on that port: is the Octopus Server service running, and is this its polling port (ListenPort, 10943 by default)?',
  'tcp.connect-timeout': 'no answer at all: a firewall, security group or NACL probably drops the traffic; allow TCP from the tentacles to this port',
  'tcp.unreachable': 'no route to the host: check the address and the network path (VPN, peering, routes)',
  'tcp.reset': 'the connection was reset: something in the path (firewall, balancer, proxy) refuses it',
  'dns.failed': 'the name does not resolve from here: check the DNS record (and that tentacles use the same resolver)',
};

function connectOnce(address: string, port: number, timeoutMs: number): Promise<number> {
  const t0 = now();
  return new Promise<number>((resolve, reject) => {
    const s = net.connect({ host: address, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(Object.assign(new Error(`TCP connect to ${address}:${port} did not complete within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      const ms = Math.round(now() - t0);
      s.destroy();
      resolve(ms);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    });
  });
}

function tlsHandshake(host: string, port: number, timeoutMs: number): Promise<{ session: TlsSessionInfo; certificate: PresentedCertificate | null; durationMs: number }> {
  const t0 = now();
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host,
      port,
      ...(net.isIP(host) === 0 ? { servername: host } : {}),
      // As a Tentacle: chain and host name are not enforced; the thumbprint is (next step).
      // The chain is still verified against the public roots, only to tell a corporate CA apart.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      minVersion: 'TLSv1.2',
    });
    const timer = setTimeout(() => {
      s.destroy();
      reject(Object.assign(new Error(`TLS handshake with ${host}:${port} did not complete within ${timeoutMs} ms`), { code: 'ERR_TLS_HANDSHAKE_TIMEOUT' }));
    }, timeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      const out = { session: tlsSession(s), certificate: presentedCertificate(s), durationMs: Math.round(now() - t0) };
      s.end();
      s.destroy();
      resolve(out);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    });
  });
}

/** The hint a failed thumbprint step gets, from what the certificate was named. */
const VERDICT_HINTS: Record<Exclude<CertificateVerdict['kind'], 'expected' | 'sha1'>, string> = {
  'tls-terminating': "this looks like a load balancer's certificate: a TLS-terminating device (ALB, NLB TLS listener, HAProxy/nginx in http mode, a reverse proxy) is in the path; " +
    'polling needs TCP pass-through to the node (an NLB TCP listener, HAProxy mode tcp, nginx stream)',
  'tls-interception': 'a proxy or firewall inspects TLS and re-signs it with its own CA: Tentacles refuse that certificate; exempt the polling port from TLS inspection ' +
    '(or, if a TLS-terminating device here uses a certificate from your internal CA: polling needs TCP pass-through instead)',
  'other-octopus-certificate': "the node presents a different Octopus certificate: the configured thumbprint is probably wrong or outdated (compare with the server's thumbprint in Octopus: Configuration > Thumbprints)",
};

function thumbprintStep(node: ExternalNode, c: PresentedCertificate, verdicts: readonly CertificateVerdict[]): PreflightStep {
  const expected = node.thumbprint ?? '';
  if (c.thumbprint === expected) {
    if (verdicts.some((v) => v.kind === 'sha1')) {
      return {
        step: 'thumbprint', status: 'fail',
        detail: `presented ${c.thumbprint} as expected (CN=${c.subjectCN || '?'}), but it is signed with ${c.signatureAlgorithm}`,
        hint: 'modern Linux Tentacles (OpenSSL 3 security defaults) refuse a SHA-1 signed certificate, Windows Tentacles still accept it: ' +
          'replace the server certificate with a SHA-256 signed one (and update the thumbprint the Tentacles trust)',
      };
    }
    return { step: 'thumbprint', status: 'pass', detail: `presented ${c.thumbprint} as expected (CN=${c.subjectCN || '?'})` };
  }
  const detail = `expected ${expected}, presented ${c.thumbprint} (CN=${c.subjectCN || '?'}, issued by ${c.selfIssued ? 'itself' : `CN=${c.issuerCN || '?'}`})`;
  if (expected.toUpperCase() === c.thumbprint) {
    return { step: 'thumbprint', status: 'fail', detail, hint: 'they differ only in letter case: Tentacle compares exactly, configure the thumbprint in upper case' };
  }
  const named = verdicts.find((v) => v.kind !== 'expected' && v.kind !== 'sha1') as { kind: keyof typeof VERDICT_HINTS } | undefined;
  return { step: 'thumbprint', status: 'fail', detail, hint: VERDICT_HINTS[named?.kind ?? 'tls-terminating'] };
}

async function identifyStep(node: ExternalNode, id: PreflightIdentity, s: Scenario, timeoutMs: number): Promise<PreflightStep> {
  const t0 = now();
  const ac = new AbortController();
  let identifiedAt = 0;
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const limit = (ms: number) => Math.min(ms, timeoutMs);
  const outcome = await runPollingConnection(
    {
      tentacle: 0,
      entry: 0,
      conn: 0,
      server: serverEntry(pollingAddress(node), node.thumbprint ?? '', node.name),
      secureContext: tentacleSecureContext(id.identity),
      tentacleThumbprint: id.identity.thumbprint,
      subscriptionId: id.subscriptionId,
      timeouts: {
        connectTimeoutMs: limit(s.protocol.connectTimeoutMs),
        receiveRequestTimeoutMs: limit(s.protocol.receiveRequestTimeoutMs),
        receiveTimeoutMs: limit(s.protocol.receiveTimeoutMs),
        heartbeatTimeoutMs: limit(s.protocol.heartbeatTimeoutMs),
        keepAliveInitialDelayMs: s.protocol.keepAliveInitialDelayMs,
        maxMessageBytes: s.protocol.maxMessageBytes,
      },
      services: new TentacleServices({ scriptRunMs: TENTACLE_DEFAULTS.scriptRunMs }),
      preamble: preambleBytes(s.fleet.preamble),
      sink: (e) => {
        if (e.type === 'identified') {
          identifiedAt = now();
          ac.abort(); // identified: that is all this step needs; stop with END
        }
      },
    },
    ac.signal,
  );
  clearTimeout(timer);
  if (outcome.wasIdentified) {
    return { step: 'identify', status: 'pass', detail: `MX-SUBSCRIBER ${id.subscriptionId} -> MX-SERVER in ${Math.round(identifiedAt - t0)} ms (${id.label})`, durationMs: Math.round(identifiedAt - t0) };
  }
  const why = outcome.reason === 'stopped' ? `not identified within ${timeoutMs} ms` : (outcome.message ?? outcome.errorKind ?? 'closed');
  return {
    step: 'identify',
    status: 'fail',
    detail: why,
    hint: outcome.errorKind === 'tls.untrusted'
      ? `the node does not trust this identity (${id.identity.thumbprint}): register it (Tentacle register-with, or preflight --register)`
      : 'the polling handshake did not complete: see the steps above for where the path breaks',
    durationMs: Math.round(now() - t0),
  };
}

/** A client for one check: the key only where the check needs it. */
function client(apiUrl: string, apiKey: string | null, timeoutMs: number, dispatcher?: Dispatcher): OctopusClient {
  return new OctopusClient({ apiUrl, apiKey, timeoutMs, ...(dispatcher ? { dispatcher } : {}) });
}

async function pingStep(node: ExternalNode, timeoutMs: number, dispatcher?: Dispatcher): Promise<PreflightStep> {
  if (!node.apiUrl) {
    return { step: 'ping', status: 'skip', detail: 'no direct API URL for this node', hint: `add api: https://<this node's own address> to ${node.name} to check its health endpoint (${PING_PATH})` };
  }
  let url = node.apiUrl + PING_PATH;
  try {
    const api = client(node.apiUrl, null, timeoutMs, dispatcher);
    url = api.url(PING_PATH);
    const r: ApiAnswer = await api.ping();
    if (r.status === 200) return { step: 'ping', status: 'pass', detail: `GET ${url} -> 200 online (${r.durationMs} ms)`, durationMs: r.durationMs };
    if (r.status === 418) {
      return {
        step: 'ping', status: 'fail', detail: `GET ${url} -> 418: the node is in drain mode`, durationMs: r.durationMs,
        hint: 'a draining node finishes its work but takes no new tasks, and balancers take it out of service; turn drain mode off (Configuration > Nodes) if that is not intended',
      };
    }
    return { step: 'ping', status: 'fail', detail: `GET ${url} -> HTTP ${r.status}: offline`, durationMs: r.durationMs, hint: 'anything but 200 (online) or 418 (drain) means offline: check the node service and its web port' };
  } catch (e) {
    const kind = errorKindOf(e);
    return { step: 'ping', status: 'fail', detail: `GET ${url} failed (${kind}): ${(e as Error).message}`, hint: NETWORK_HINTS[kind] ?? 'the node web port is not reachable from here' };
  }
}

/** Every step of one node, in order; a step that cannot run after an earlier failure is skipped. */
async function checkNode(node: ExternalNode, s: Scenario, o: PreflightOptions, T: PreflightTimeouts & { dispatcher?: Dispatcher }): Promise<PreflightNode> {
  const steps: PreflightStep[] = [];
  const skipRest = (from: PreflightStep['step'][], why: string) => {
    for (const step of from) steps.push({ step, status: 'skip', detail: `skipped: ${why}` });
  };
  const out: PreflightNode = { name: node.name, address: node.address, steps, certificate: null, tls: null, verdicts: [] };

  // DNS: every address, not only the first.
  let addresses: string[];
  const t0 = now();
  if (net.isIP(node.host)) {
    addresses = [node.host];
    steps.push({ step: 'dns', status: 'pass', detail: `${node.host} is an IP address (no lookup)`, durationMs: 0 });
  } else {
    try {
      const all = await withTimeout(lookup(node.host, { all: true }), T.dnsTimeoutMs, `DNS lookup of ${node.host}`);
      addresses = all.map((a) => a.address);
      steps.push({ step: 'dns', status: 'pass', detail: `${node.host} -> ${addresses.join(', ')}`, durationMs: Math.round(now() - t0) });
    } catch (e) {
      steps.push({ step: 'dns', status: 'fail', detail: `${node.host}: ${(e as Error).message}`, hint: NETWORK_HINTS['dns.failed']!, durationMs: Math.round(now() - t0) });
      skipRest(['tcp', 'tls', 'thumbprint', 'handshake', 'identify'], 'DNS failed');
      steps.push(await pingStep(node, T.httpTimeoutMs, T.dispatcher));
      return out;
    }
  }

  // TCP: connect to each resolved address.
  const results = await Promise.all(addresses.map(async (a) => {
    try {
      return { a, ms: await connectOnce(a, node.port, T.tcpConnectTimeoutMs) };
    } catch (e) {
      return { a, error: e as Error, kind: errorKindOf(e) };
    }
  }));
  const failed = results.filter((r) => 'error' in r) as { a: string; error: Error; kind: string }[];
  const ok = results.filter((r) => 'ms' in r) as { a: string; ms: number }[];
  if (failed.length) {
    const first = failed[0]!;
    steps.push({
      step: 'tcp', status: 'fail',
      detail: failed.map((f) => `${f.a}:${node.port} ${f.kind}: ${f.error.message}`).join('; ') + (ok.length ? `; connected to ${ok.map((r) => r.a).join(', ')}` : ''),
      hint: NETWORK_HINTS[first.kind] ?? 'the polling port is not reachable from here',
    });
    if (!ok.length) {
      skipRest(['tls', 'thumbprint', 'handshake', 'identify'], 'no TCP connection');
      steps.push(await pingStep(node, T.httpTimeoutMs, T.dispatcher));
      return out;
    }
  } else {
    steps.push({ step: 'tcp', status: 'pass', detail: ok.map((r) => `${r.a}:${node.port} in ${r.ms} ms`).join(', '), durationMs: Math.max(...ok.map((r) => r.ms)) });
  }

  // TLS handshake, then the thumbprint it presented.
  let thumbprintOk = false;
  try {
    const h = await tlsHandshake(node.host, node.port, T.tlsHandshakeTimeoutMs);
    out.tls = h.session;
    out.certificate = h.certificate;
    steps.push({ step: 'tls', status: 'pass', detail: `${h.session.protocol}, ${h.session.cipher}, ${h.durationMs} ms`, durationMs: h.durationMs });
    if (!h.certificate) {
      steps.push({ step: 'thumbprint', status: 'fail', detail: 'the port presented no certificate', hint: 'a polling port always presents the node certificate: something else answers on this port' });
    } else {
      out.verdicts = classifyCertificate(h.certificate, node.thumbprint);
      if (!node.thumbprint) {
        steps.push({ step: 'thumbprint', status: 'fail', detail: `no expected thumbprint configured; presented ${h.certificate.thumbprint}`, hint: 'set thumbprint for the node (or external.thumbprint) to the server thumbprint from Octopus' });
      } else {
        const step = thumbprintStep(node, h.certificate, out.verdicts);
        // Identification still runs against a SHA-1 certificate with the right thumbprint (pollfleet's own TLS accepts it).
        thumbprintOk = h.certificate.thumbprint === node.thumbprint;
        steps.push(step);
      }
    }
  } catch (e) {
    steps.push({
      step: 'tls', status: 'fail', detail: `${(e as Error).message}`,
      hint: 'the port accepts TCP but no TLS 1.2+ handshake completes: is this the polling port (not the web port), and is nothing in the path speaking another protocol?',
    });
    skipRest(['thumbprint', 'handshake', 'identify'], 'no TLS');
    steps.push(await pingStep(node, T.httpTimeoutMs, T.dispatcher));
    return out;
  }

  // The handshake page (what Tentacle register-with checks).
  const hs = await checkPollingPort({ host: node.host, port: node.port, address: node.address, timeoutMs: T.httpTimeoutMs });
  steps.push(hs.isOpen
    ? { step: 'handshake', status: 'pass', detail: `POST ${hs.url} -> HTTP ${hs.status} (${Math.round(hs.durationMs)} ms)`, durationMs: Math.round(hs.durationMs) }
    : { step: 'handshake', status: 'fail', detail: hs.message ?? 'no answer', hint: 'register-with and poll-server check this page; the polling port must answer it directly (no HTTP proxy in front)', durationMs: Math.round(hs.durationMs) });

  // Full identification with an identity the cluster trusts.
  if (!o.identity) {
    steps.push({ step: 'identify', status: 'skip', detail: 'no tentacle identity given', hint: 'add external.identity (a certificate the cluster trusts), or run preflight --register for a synthetic one' });
  } else if (!thumbprintOk) {
    steps.push({ step: 'identify', status: 'skip', detail: 'skipped: a Tentacle would refuse this certificate' });
  } else {
    steps.push(await identifyStep(node, o.identity, s, T.identifyTimeoutMs));
  }
  steps.push(await pingStep(node, T.httpTimeoutMs, T.dispatcher));
  return out;
}

async function apiStep(apiUrl: string, apiKey: string | null, timeoutMs: number, dispatcher?: Dispatcher): Promise<PreflightStep> {
  let url = apiUrl + ROOT_PATH;
  try {
    const api = client(apiUrl, apiKey, timeoutMs, dispatcher);
    url = api.url(ROOT_PATH);
    const r = await api.answer(ROOT_PATH);
    let version = '';
    try {
      version = String((JSON.parse(r.text) as Record<string, unknown>)?.['Version'] ?? '');
    } catch {
      version = '';
    }
    if (r.status === 200 && version) {
      return apiKey
        ? { step: 'api', status: 'pass', detail: `GET ${url} with the API key -> 200, Octopus API version ${version} (${r.durationMs} ms)`, durationMs: r.durationMs }
        : { step: 'api', status: 'pass', detail: `GET ${url} -> 200, Octopus API version ${version}; the key was not checked (none configured)`, durationMs: r.durationMs };
    }
    if (r.status === 401 || r.status === 403) {
      return apiKey
        ? { step: 'api', status: 'fail', detail: `GET ${url} -> HTTP ${r.status}: the API key was refused`, hint: 'check the key (and that its user may view and register machines in the space)' }
        : { step: 'api', status: 'skip', detail: `GET ${url} -> HTTP ${r.status} (reachable; needs an API key)`, hint: 'set external.apiKeyEnv or external.apiKeyFile to check registration access' };
    }
    if (r.status === 200) return { step: 'api', status: 'fail', detail: `GET ${url} -> 200 but not an Octopus root document`, hint: 'apiUrl should be the Octopus Server URL (through the balancer)' };
    return { step: 'api', status: 'fail', detail: `GET ${url} -> HTTP ${r.status}`, hint: 'the public URL should reach an Octopus Server node through the balancer' };
  } catch (e) {
    const kind = errorKindOf(e);
    return { step: 'api', status: 'fail', detail: `GET ${url} failed (${kind}): ${(e as Error).message}`, hint: NETWORK_HINTS[kind] ?? 'the public API URL is not reachable from here' };
  }
}

async function redisStep(apiUrl: string, apiKey: string | null, timeoutMs: number, dispatcher?: Dispatcher): Promise<PreflightStep> {
  let url = apiUrl + REDIS_STATUS_PATH;
  try {
    const api = client(apiUrl, apiKey, timeoutMs, dispatcher);
    url = api.url(REDIS_STATUS_PATH);
    const r = await api.redisStatus();
    if (r.status !== 200 || !r.redis) {
      return { step: 'redis', status: 'fail', detail: `GET ${url} -> HTTP ${r.status}`, hint: r.status === 401 ? 'needs an API key (external.apiKeyEnv)' : 'this Octopus version may not report Redis status' };
    }
    const b = r.redis;
    const ok = b['IsEnabled'] === true && b['IsReachable'] !== false;
    return {
      step: 'redis', status: ok ? 'pass' : 'fail',
      detail: `GET ${url} -> enabled ${String(b['IsEnabled'])}, configured ${String(b['IsConfigured'])}, reachable ${String(b['IsReachable'])}`,
      ...(ok ? {} : { hint: 'multi-node polling needs Redis enabled and reachable from every node; without it, work queued on one node is only collected by tentacles connected to that node' }),
      durationMs: r.durationMs,
    };
  } catch (e) {
    return { step: 'redis', status: 'fail', detail: `GET ${url} failed: ${(e as Error).message}` };
  }
}

/** Run every check (nodes in parallel, steps of a node in order). Never throws for a failing check. */
export async function runPreflight(s: Scenario, o: PreflightOptions): Promise<PreflightReport> {
  const ext = s.external!;
  // external.apiTlsVerify: false accepts a self-signed REST API certificate (test clusters only).
  const insecure = ext.apiTlsVerify ? undefined : new Agent({ connect: { rejectUnauthorized: false } });
  const T = { ...PREFLIGHT_DEFAULTS, ...o.timeouts, ...(insecure ? { dispatcher: insecure } : {}) };
  const nodes = await Promise.all(ext.nodes.map((n) => checkNode(n, s, o, T)));
  const cluster: PreflightStep[] = [];
  if (ext.apiUrl) cluster.push(await apiStep(ext.apiUrl, o.apiKey, T.httpTimeoutMs, T.dispatcher));
  else cluster.push({ step: 'api', status: 'skip', detail: 'no public API URL', hint: 'set external.apiUrl (the URL through the balancer) to check registration access' });
  if (ext.multiNodePolling) {
    const base = ext.apiUrl ?? ext.nodes.find((n) => n.apiUrl)?.apiUrl ?? null;
    cluster.push(base ? await redisStep(base, o.apiKey, T.httpTimeoutMs, T.dispatcher) : { step: 'redis', status: 'skip', detail: 'no API URL to ask', hint: 'set external.apiUrl' });
    if (ext.redisUrl) cluster.push(await lintRedis(ext.redisUrl, T.httpTimeoutMs));
  }
  const driftUrl = ext.apiUrl ?? ext.nodes.find((n) => n.apiUrl)?.apiUrl ?? null;
  const drift = await checkDrift({ apiUrl: driftUrl, apiKey: o.apiKey, nodes: ext.nodes, multiNodePolling: ext.multiNodePolling, timeoutMs: T.httpTimeoutMs, ...(T.dispatcher ? { dispatcher: T.dispatcher } : {}) });
  if (drift.reason) drift.reason = scrubKey(drift.reason, o.apiKey);
  if (drift.hint) drift.hint = scrubKey(drift.hint, o.apiKey);
  const scrubbed = (st: PreflightStep): PreflightStep => ({ ...st, detail: scrubKey(st.detail, o.apiKey), ...(st.hint ? { hint: scrubKey(st.hint, o.apiKey) } : {}) });
  const report: PreflightReport = {
    scenario: s.name,
    pass: false,
    nodes: nodes.map((n) => ({ ...n, steps: n.steps.map(scrubbed) })),
    cluster: cluster.map(scrubbed),
    drift,
    warnings: [],
  };
  report.pass = preflightPassed(report);
  await insecure?.close();
  return report;
}

/** No step failed, and no task-processing node is left unpolled. */
export function preflightPassed(r: Pick<PreflightReport, 'nodes' | 'cluster' | 'drift'>): boolean {
  return ![...r.nodes.flatMap((n) => n.steps), ...r.cluster].some((st) => st.status === 'fail') && r.drift.status !== 'fail';
}

/**
 * The identity a preflight identifies with: the scenario's certificate with a fresh random
 * subscription -- never a real machine's: even a short identify step leaves a connection
 * the node may hand that machine's queued request to.
 */
export function preflightIdentity(identity: CertificateIdentity, label: string): PreflightIdentity {
  return { identity, subscriptionId: newSubscriptionId(), label };
}
