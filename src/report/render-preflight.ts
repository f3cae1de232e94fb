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

export interface PreflightReportView {
  scenario: string;
  pass: boolean;
  nodes: ReadonlyArray<{ name: string; address: string; steps: readonly PreflightStepView[] }>;
  cluster: readonly PreflightStepView[];
  warnings: readonly string[];
}

/**
 * `pollfleet preflight`'s report as text: one line per step, a fix hint under each failure.
 * Pure; the checks themselves are environment/external/preflight-checks.ts.
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
    stepLines(n.steps);
  }
  lines.push('cluster');
  stepLines(r.cluster);
  const failedNodes = r.nodes.filter((n) => n.steps.some((s) => s.status === 'fail')).map((n) => n.name);
  const failedCluster = r.cluster.filter((s) => s.status === 'fail').map((s) => s.step);
  lines.push(r.pass
    ? `PASS: every step passed${[...r.nodes.flatMap((n) => n.steps), ...r.cluster].some((s) => s.status === 'skip') ? ' (some were skipped: see the fix lines)' : ''}`
    : `FAIL: ${[...failedNodes.map((n) => `node ${n}`), ...failedCluster.map((c) => `cluster ${c}`)].join(', ')}`);
  return lines.join('\n') + '\n';
}
