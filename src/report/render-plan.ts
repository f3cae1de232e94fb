import type { Plan } from '../plan/plan.js';
import { PING_PATH } from '../scenario/defaults.js';
import { formatDuration } from '../scenario/duration.js';

/** What `--plan` knows of the ledger: how many machines earlier runs left in it. */
export interface PlanLedger {
  entries: number;
}

function entries(n: number): string {
  return `${n} server ${n === 1 ? 'entry' : 'entries'}`;
}

/**
 * `--plan`: exactly what a run would open and register, without opening a socket. Pure:
 * a Plan (src/plan/plan.ts) and the ledger's leftovers in, text out.
 */
export function renderPlan(plan: Plan, ledger: PlanLedger = { entries: 0 }): string {
  const lines: string[] = [];
  lines.push(`plan for scenario ${plan.scenario} (nothing is opened or registered)`);
  const sh = plan.shard;
  if (sh) lines.push(`  shard       ${sh.index}/${sh.count}: tentacles ${sh.firstTentacle + 1}-${sh.firstTentacle + sh.tentacles} of ${sh.totalTentacles} (merge the ${sh.count} result.json files with \`pollfleet merge\`)`);
  if (plan.target === 'embedded') renderEmbedded(plan, lines);
  else renderExternal(plan, ledger, lines);
  if (plan.faults.length) {
    lines.push(`  faults      ${plan.faults.length} (times from the start of the steady phase):`);
    for (const x of plan.faults) {
      lines.push(`    at ${formatDuration(x.atMs).padEnd(6)} ${x.kind.padEnd(16)} ${x.target.padEnd(16)} ${x.forMs === null ? 'not undone' : `for ${formatDuration(x.forMs)}`}${x.name !== `${x.kind}@${x.target}` ? `  (${x.name})` : ''}`);
    }
  }
  if (plan.safety) {
    const L = plan.safety.limits;
    if (plan.safety.allowLoad) lines.push('  limits      lifted (--i-understand-load / external.allowLoad)');
    else if (plan.safety.problems.length) lines.push(`  limits      EXCEEDED -- the run would refuse to start:\n    ${plan.safety.problems.join('\n    ')}`);
    else lines.push(`  limits      within the defaults for a real cluster (<= ${L.maxTentacles} tentacles, <= ${L.maxConnections} connections, <= ${L.maxRegistrationsPerSecond} registrations/s, <= ${formatDuration(L.maxDurationMs)})`);
  }
  return lines.join('\n') + '\n';
}

function renderEmbedded(plan: Plan, lines: string[]): void {
  const f = plan.fleet;
  const N = plan.nodes.length;
  lines.push(`  target      embedded cluster on loopback: ${N} node(s), route ${plan.route.kind}, queue ${plan.queue}`);
  lines.push(`  route       ${plan.route.summary}${plan.route.balancer ? ` (balancer: ${plan.route.balancer})` : ''}${plan.route.transport === 'websocket' ? ', polling over WebSockets' : ''}`);
  if (plan.route.preset) lines.push(`  preset      ${plan.route.preset.name}: ${plan.route.preset.set.join('; ') || 'nothing (the scenario sets every field itself)'}`);
  lines.push(`  nodes       ${plan.nodes.map((n) => `${n.name} ${n.address}`).join(', ')}`);
  lines.push(`  entries     ${entries(plan.entries.length)} per tentacle:`);
  for (const e of plan.entries) lines.push(`    ${e.address.padEnd(40)} -> ${e.reaches.length === N && N > 1 ? `any node (${e.reaches.join(', ')})` : e.reaches.join(', ')}`);
  for (const o of plan.overrides) lines.push(`    tentacles ${o.from + 1}-${o.to + 1}: only ${o.nodes.join(', ')} (${entries(o.entries)})`);
  lines.push(`  fleet       ${f.tentacles} ${f.profile === 'kubernetes-agent' ? 'Kubernetes agent(s)' : 'tentacle(s)'} x ${N} node(s) x ${f.connectionsPerEntry} connection(s), ramp-up ${formatDuration(f.rampUpMs)}${f.workers > 1 ? `, in ${f.workers} worker threads` : ''}`);
  lines.push(`  identities  ${f.tentacles} new certificate(s) and subscription id(s), one per tentacle`);
  if (plan.registration.kind === 'embedded') {
    lines.push(`  register    ${plan.registration.count} tentacle(s) over the REST API, ${plan.registration.through === 'balancer' ? 'through the balancer' : plan.registration.through === 'proxy' ? 'through an HTTP proxy (route.registrationProxy)' : 'straight to the nodes'}`);
  }
  lines.push(`  duration    ${formatDuration(plan.durationMs)} after ramp-up`);
}

function renderExternal(plan: Plan, ledger: PlanLedger, lines: string[]): void {
  const f = plan.fleet;
  const perNode = f.tentacles * f.connectionsPerEntry;
  lines.push(`  target      external (real cluster)`);
  lines.push(`  polling     ${perNode} TLS connection(s) to each node (${f.tentacles} tentacle(s) x ${f.connectionsPerEntry} polling connection(s)), ${perNode * plan.nodes.length} in all:`);
  for (const n of plan.nodes) {
    lines.push(`    ${n.name.padEnd(10)} ${n.address.padEnd(32)} expect thumbprint ${n.thumbprint ?? '(none given)'}${n.apiUrl ? `   ping ${n.apiUrl.replace(/\/+$/, '')}${PING_PATH}` : ''}`);
  }
  for (const o of plan.overrides) lines.push(`    tentacles ${o.from + 1}-${o.to + 1}: only ${o.nodes.join(', ')}`);
  lines.push(`  timing      ramp-up ${formatDuration(f.rampUpMs)}, then ${formatDuration(plan.durationMs)}; every connection ends with END at the stop`);
  const r = plan.registration;
  if (r.kind === 'synthetic') {
    lines.push(`  register    ${r.count} synthetic polling machine(s) through ${r.apiUrl} (space ${r.space ?? 'default'}), at most ${r.ratePerSecond}/s`);
    lines.push(`              named ${r.namePrefix}<run>-0001 ..., environment ${r.environment}, roles ${r.roles.join(', ')}, one new certificate each`);
    lines.push(`              each: ${r.steps.join(', ')}`);
    lines.push(`  clean-up    DELETE /api/<space>/machines/<id> for exactly those machines at the end, on Ctrl-C and on errors; ledger ${r.ledgerFile}`);
    lines.push(`  API key     from ${r.apiKeyFrom}`);
    if (ledger.entries) lines.push(`  leftovers   the ledger lists ${ledger.entries} machine(s) from earlier runs; those of runs that are gone are deleted first`);
  } else {
    lines.push(`  identities  the given certificate ${plan.identities.file ?? '(none given)'}, shared by ${f.tentacles} tentacle(s); a fresh subscription per tentacle (${plan.identities.subscriptions}), never a real machine's: the node serves each an empty queue`);
    lines.push(`  register    nothing (the identity ${plan.identities.file ?? '(none given)'} must already be trusted by the cluster)`);
  }
}
