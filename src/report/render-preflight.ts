/**
 * The parts of a preflight report (environment/external/preflight-checks.ts's PreflightReport) the
 * text shows. Declared here so the renderer depends on no layer above it.
 */
export interface PreflightStepView {
  step: string;
  status: 'pass' | 'fail' | 'skip';
  detail: string;
  hint?: string;
}

/** The certificate a polling port presented (preflight-certificate.ts's PresentedCertificate). */
export interface PresentedCertificateView {
  subject: string;
  issuer: string;
  selfIssued: boolean;
  signatureAlgorithm: string;
  keyType: string;
  keyBits: number | null;
  notBefore: string;
  notAfter: string;
  thumbprint: string;
  chain: readonly string[];
}

export type CertificateVerdictView =
  | { kind: 'expected' }
  | { kind: 'tls-terminating'; issuer: string }
  | { kind: 'tls-interception'; issuer: string; root: string }
  | { kind: 'other-octopus-certificate' }
  | { kind: 'sha1' };

/** One entry of GET /api/octopusservernodes (preflight-drift.ts's ServerNodeSummary). */
export interface ServerNodeView {
  id: string;
  name: string;
  maxConcurrentTasks: number;
  isInMaintenanceMode: boolean;
  isOffline: boolean;
}

/** The cluster's nodes against the scenario's polling addresses (preflight-drift.ts's DriftReport). */
export interface DriftView {
  status: 'pass' | 'fail' | 'skip';
  /** Why it was skipped or could not be read. */
  reason: string | null;
  hint: string | null;
  /** Polling addresses in the scenario. */
  scenarioNodes: number;
  /** Multi-node polling: one shared queue, so a node nobody polls loses no work. */
  sharedQueue: boolean;
  serverNodes: readonly ServerNodeView[];
  /** Nodes that take new tasks (not drained, not offline, a task cap above 0). */
  processing: readonly ServerNodeView[];
  neverPolled: readonly ServerNodeView[];
  drained: readonly ServerNodeView[];
  offline: readonly ServerNodeView[];
  /** Scenario node names that match no server node (by name, node id, or the host's first label). */
  unmatched: readonly string[];
}

export interface PreflightNodeView {
  name: string;
  address: string;
  steps: readonly PreflightStepView[];
  certificate?: PresentedCertificateView | null;
  tls?: { protocol: string; cipher: string } | null;
  verdicts?: readonly CertificateVerdictView[];
}

export interface PreflightReportView {
  scenario: string;
  pass: boolean;
  nodes: readonly PreflightNodeView[];
  cluster: readonly PreflightStepView[];
  drift?: DriftView | null;
  warnings: readonly string[];
}

/** A verdict as the sentence people read. */
export function verdictText(v: CertificateVerdictView): string {
  switch (v.kind) {
    case 'expected':
      return 'node certificate as expected';
    case 'tls-terminating':
      return `TLS-terminating device (certificate issued by ${v.issuer})`;
    case 'tls-interception':
      return `TLS interception (the certificate chains to a corporate CA: ${v.root})`;
    case 'other-octopus-certificate':
      return 'an Octopus Server certificate, but not the expected thumbprint';
    case 'sha1':
      return 'SHA-1 signed certificate: modern Linux Tentacles refuse it';
  }
}

const day = (iso: string) => iso.slice(0, 10);

function certificateLines(n: PreflightNodeView): string[] {
  const c = n.certificate;
  if (!c) return [];
  const pad = `  ${''.padEnd(4)}  ${''.padEnd(10)}  `;
  const key = `${c.keyType}${c.keyBits ? ` ${c.keyBits} bits` : ''}`;
  const lines = [
    `  ${'CERT'.padEnd(4)}  ${'presented'.padEnd(10)}  ${c.subject || '(no subject)'}, issued by ${c.selfIssued ? 'itself' : c.issuer}`,
    `${pad}${c.signatureAlgorithm}, ${key}, valid ${day(c.notBefore)} to ${day(c.notAfter)}`,
    `${pad}thumbprint ${c.thumbprint}${n.tls ? `, ${n.tls.protocol} ${n.tls.cipher}` : ''}`,
  ];
  if (c.chain.length > 1) lines.push(`${pad}chain: ${c.chain.join(' <- ')}`);
  for (const v of n.verdicts ?? []) lines.push(`  ${'=>'.padEnd(4)}  ${'verdict'.padEnd(10)}  ${verdictText(v)}`);
  return lines;
}

const label = (n: ServerNodeView) => {
  const idName = n.id.replace(/^OctopusServerNodes-/i, '');
  return idName && idName.toLowerCase() !== n.name.toLowerCase() ? `${n.name} (${idName})` : n.name;
};
const list = (ns: readonly ServerNodeView[]) => ns.map(label).join(', ');
const plural = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;

/** The drift section's lines (status, sentence, fix). */
export function driftLines(d: DriftView): PreflightStepView[] {
  if (d.status === 'skip' || d.reason !== null) {
    return [{ step: 'drift', status: d.status, detail: d.reason ?? 'not checked', ...(d.hint ? { hint: d.hint } : {}) }];
  }
  const out: PreflightStepView[] = [];
  const head = `${plural(d.processing.length, 'node processes', 'nodes process')} tasks, the scenario polls ${d.scenarioNodes}`;
  if (d.neverPolled.length === 0) out.push({ step: 'drift', status: 'pass', detail: `${head}: every one is polled` });
  else {
    const verb = d.neverPolled.length === 1 ? 'is' : 'are';
    out.push(d.sharedQueue
      ? { step: 'drift', status: 'pass', detail: `${head}: ${list(d.neverPolled)} ${verb} never polled, which multi-node polling (one shared queue) allows` }
      : {
        step: 'drift', status: 'fail', detail: `${head}: ${list(d.neverPolled)} ${verb} never polled`,
        hint: 'each node hands its work only to the tentacles polling it: tasks that run on a node nobody polls time out; add it to external.nodes (and to the Tentacles)',
      });
  }
  if (d.drained.length) out.push({ step: 'drained', status: 'pass', detail: `${list(d.drained)} ${d.drained.length === 1 ? 'is' : 'are'} drained (maintenance mode): no new tasks there until drain mode is turned off` });
  if (d.offline.length) out.push({ step: 'offline', status: 'pass', detail: `${list(d.offline)} ${d.offline.length === 1 ? 'is' : 'are'} offline (not seen recently)` });
  if (d.unmatched.length) out.push({ step: 'unmatched', status: 'pass', detail: `${d.unmatched.join(', ')} in the scenario match${d.unmatched.length === 1 ? 'es' : ''} no server node by name (node names: ${list(d.serverNodes)})` });
  return out;
}

/**
 * `pollfleet preflight`'s report as text: per node what its polling port presented and what
 * that means, one line per step with a fix hint under each failure, then the cluster (and
 * drift: its task-processing nodes against the scenario's addresses). Pure; the checks
 * themselves are environment/external/preflight-checks.ts.
 */
export function renderPreflight(r: PreflightReportView): string {
  const lines: string[] = [`preflight: ${r.scenario}, ${r.nodes.length} node(s)`];
  const stepLines = (steps: readonly PreflightStepView[]) => {
    for (const st of steps) {
      lines.push(`  ${st.status.toUpperCase().padEnd(4)}  ${st.step.padEnd(10)}  ${st.detail}`);
      if (st.hint && st.status !== 'pass') lines.push(`        ${''.padEnd(10)}  fix: ${st.hint}`);
    }
  };
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  for (const n of r.nodes) {
    lines.push(`${n.name}  ${n.address}`);
    lines.push(...certificateLines(n));
    stepLines(n.steps);
  }
  lines.push('cluster');
  stepLines(r.cluster);
  const drift = r.drift ? driftLines(r.drift) : [];
  stepLines(drift);
  const failedNodes = r.nodes.filter((n) => n.steps.some((s) => s.status === 'fail')).map((n) => n.name);
  const failedCluster = [...r.cluster, ...drift].filter((s) => s.status === 'fail').map((s) => s.step);
  lines.push(r.pass
    ? `PASS: every step passed${[...r.nodes.flatMap((n) => n.steps), ...r.cluster, ...drift].some((s) => s.status === 'skip') ? ' (some were skipped: see the fix lines)' : ''}`
    : `FAIL: ${[...failedNodes.map((n) => `node ${n}`), ...failedCluster.map((c) => `cluster ${c}`)].join(', ')}`);
  return lines.join('\n') + '\n';
}
