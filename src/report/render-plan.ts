import { EXTERNAL_SAFETY_DEFAULTS } from '../scenario/defaults.js';
import { formatDuration } from '../scenario/duration.js';
import type { Scenario } from '../scenario/resolve.js';
import { SERVER_CERTIFICATE_PATH } from '../tentacle/registration.js';
import type { LedgerEntry } from '../environment/external/ledger.js';
import { externalSafetyProblems } from '../environment/external/safety.js';

/**
 * `--plan`: exactly what a run would open and register, without opening a socket. Pure:
 * scenario (+ the ledger's current entries) in, text out.
 */
export function renderPlan(s: Scenario, ledger: LedgerEntry[] = []): string {
  const lines: string[] = [];
  const f = s.fleet;
  lines.push(`plan for scenario ${s.name} (nothing is opened or registered)`);
  if (s.target !== 'external' || !s.external) {
    lines.push(`  target      embedded cluster on loopback: ${s.cluster.nodes} node(s), route ${s.route.kind}, queue ${s.cluster.queue}`);
    lines.push(`  fleet       ${f.tentacles} tentacle(s) x ${s.cluster.nodes} node(s) x ${f.pollingConnectionCount} connection(s), ramp-up ${formatDuration(f.rampUpMs)}`);
    lines.push(`  duration    ${formatDuration(s.durationMs)} after ramp-up`);
    return lines.join('\n') + '\n';
  }
  const ext = s.external;
  const perNode = f.tentacles * f.pollingConnectionCount;
  lines.push(`  target      external (real cluster)`);
  lines.push(`  polling     ${perNode} TLS connection(s) to each node (${f.tentacles} tentacle(s) x ${f.pollingConnectionCount} polling connection(s)), ${perNode * ext.nodes.length} in all:`);
  for (const n of ext.nodes) {
    lines.push(`    ${n.name.padEnd(10)} ${n.address.padEnd(32)} expect thumbprint ${n.thumbprint ?? '(none given)'}${n.apiUrl ? `   ping ${n.apiUrl.replace(/\/+$/, '')}/api/octopusservernodes/ping` : ''}`);
  }
  lines.push(`  timing      ramp-up ${formatDuration(f.rampUpMs)}, then ${formatDuration(s.durationMs)}; every connection ends with END at the stop`);
  const keySource = ext.apiKeyEnv ? `environment variable ${ext.apiKeyEnv}` : ext.apiKeyFile ? `file ${ext.apiKeyFile}` : 'none configured';
  if (ext.register) {
    const r = ext.register;
    const first = ext.nodes[0];
    lines.push(`  register    ${r.count} synthetic polling machine(s) through ${ext.apiUrl} (space ${ext.space ?? 'default'}), at most ${r.ratePerSecond}/s`);
    lines.push(`              named ${r.namePrefix}<run>-0001 ..., environment ${r.environment}, roles ${r.roles.join(', ')}, one new certificate each`);
    lines.push(`              each: ${first ? `POST https://${first.host}:${first.port}/handshake, ` : ''}GET /api, GET /api/spaces, GET ${SERVER_CERTIFICATE_PATH}, GET /api/<space>/environments, POST /api/<space>/machines`);
    lines.push(`  clean-up    DELETE /api/<space>/machines/<id> for exactly those machines at the end, on Ctrl-C and on errors; ledger ${r.ledgerFile}`);
    lines.push(`  API key     from ${keySource}`);
    if (ledger.length) lines.push(`  leftovers   the ledger lists ${ledger.length} machine(s) from earlier runs; those of runs that are gone are deleted first`);
  } else {
    lines.push(`  register    nothing (the identity ${ext.identity.pfx ?? ext.identity.cert ?? '(none given)'} must already be trusted by the cluster)`);
  }
  const problems = externalSafetyProblems(s);
  const L = EXTERNAL_SAFETY_DEFAULTS;
  if (ext.allowLoad) lines.push('  limits      lifted (--i-understand-load / external.allowLoad)');
  else if (problems.length) lines.push(`  limits      EXCEEDED -- the run would refuse to start:\n    ${problems.join('\n    ')}`);
  else lines.push(`  limits      within the defaults for a real cluster (<= ${L.maxTentacles} tentacles, <= ${L.maxConnections} connections, <= ${L.maxRegistrationsPerSecond} registrations/s, <= ${formatDuration(L.maxDurationMs)})`);
  return lines.join('\n') + '\n';
}
