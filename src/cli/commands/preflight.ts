import { EXIT_CHECK_FAILED, EXIT_OK, PollfleetError } from '../../core/errors.js';
import { createFleetIdentities } from '../../fleet/identity-pool.js';
import { CertificateLoadError, loadPem, loadPfx } from '../../pki/load.js';
import { resolveApiKey, requireApiKey, scrubKey } from '../../environment/external/api-key-source.js';
import { preflightIdentity, preflightPassed, runPreflight, type PreflightIdentity, type PreflightStep } from '../../environment/external/preflight-checks.js';
import { renderPreflight } from '../../report/render-preflight.js';
import { SyntheticRegistrar } from '../../environment/external/synthetic-registrar.js';
import { EXTERNAL_SAFETY_DEFAULTS } from '../../scenario/defaults.js';
import { loadScenarioFile } from '../../scenario/loader.js';
import type { Scenario } from '../../scenario/resolve.js';
import type { CliContext } from '../context.js';

export interface PreflightFlags {
  json?: boolean;
  register?: boolean;
  apiKey?: string;
}

function scenarioIdentity(s: Scenario): PreflightIdentity | null {
  const id = s.external!.identity;
  if (!id.pfx && !id.cert) return null;
  try {
    const identity = id.pfx
      ? loadPfx(id.pfx, id.passphraseEnv ? (process.env[id.passphraseEnv] ?? '') : '')
      : loadPem(id.cert!, id.key ?? id.cert!);
    return preflightIdentity(identity, `identity ${id.pfx ?? id.cert}`);
  } catch (e) {
    if (e instanceof CertificateLoadError) throw new PollfleetError('input.invalid', `external.identity: ${e.message}`);
    throw e;
  }
}

/**
 * `pollfleet preflight <scenario>` (alias doctor): step-by-step checks of a real cluster.
 * Read-only, unless --register: then one synthetic machine is registered to identify with,
 * and deleted again before the command ends (ledger-backed, like a run).
 */
export async function preflightCommand(ctx: CliContext, file: string, f: PreflightFlags): Promise<number> {
  const loaded = loadScenarioFile(file);
  if (loaded.kind !== 'scenario') throw new PollfleetError('input.invalid', `${file}: preflight checks one target; this is a comparison file`);
  const s = loaded.scenario;
  if (s.target !== 'external' || !s.external) {
    throw new PollfleetError('input.invalid', `${file}: preflight checks a real cluster (target: external with external.nodes)`, {
      hint: 'pollfleet import-config Tentacle.config -o real.yaml writes one; to try it locally, start pollfleet cluster --state-dir DIR and list its nodes',
    });
  }
  const ext = s.external;
  const key = resolveApiKey(ext, f.apiKey);
  const warnings = [...(key?.warnings ?? [])];
  let identity = scenarioIdentity(s);
  let registrar: SyntheticRegistrar | null = null;
  const registerSteps: PreflightStep[] = [];
  const onSignal = () => {
    void (registrar?.cleanup() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (f.register) {
      if (!ext.apiUrl) throw new PollfleetError('input.invalid', `${file}: --register needs external.apiUrl (where machines are registered)`);
      if (!ext.register) throw new PollfleetError('input.invalid', `${file}: --register needs external.register.environment (the environment of the synthetic machine)`);
      const k = requireApiKey(ext, 'preflight --register', f.apiKey);
      const [fid] = await createFleetIdentities(1, 1);
      const first = ext.nodes[0]!;
      registrar = new SyntheticRegistrar({
        apiUrl: ext.apiUrl,
        apiKey: k.key,
        space: ext.space,
        spec: { ...ext.register, count: 1, ratePerSecond: Math.min(ext.register.ratePerSecond, EXTERNAL_SAFETY_DEFAULTS.registrationsPerSecond) },
        pollingPort: { host: first.host, port: first.port, address: first.address },
        concurrency: 1,
        sink: () => undefined,
      });
      await registrar.removeLeftovers();
      const t0 = performance.now();
      try {
        await registrar.register(0, fid!);
        registerSteps.push({ step: 'register', status: 'pass', detail: `registered synthetic machine ${registrar.nameOf(0)} (thumbprint ${fid!.identity.thumbprint}) in ${Math.round(performance.now() - t0)} ms; it is deleted at the end`, durationMs: Math.round(performance.now() - t0) });
        identity = { identity: fid!.identity, subscriptionId: fid!.subscriptionId, label: `synthetic machine ${registrar.nameOf(0)}` };
      } catch (e) {
        registerSteps.push({ step: 'register', status: 'fail', detail: scrubKey((e as Error).message, k.key), hint: (e as PollfleetError).hint ?? 'check the API key, the space and the environment name' });
      }
    }
    const report = await runPreflight(s, { apiKey: key?.key ?? null, identity });
    report.cluster.push(...registerSteps);
    if (registrar) {
      const out = await registrar.cleanup();
      if (out.failed.length) {
        report.cluster.push({ step: 'register', status: 'fail', detail: `could not delete ${out.failed.map((x) => x.name).join(', ')}: ${out.failed[0]!.message}`, hint: `run pollfleet cleanup --ledger ${registrar.ledger.file}` });
      }
    }
    report.warnings.push(...warnings);
    report.pass = preflightPassed(report);
    const text = f.json ? JSON.stringify(report, null, 2) + '\n' : renderPreflight(report);
    ctx.stdout.write(scrubKey(text, key?.key));
    return report.pass ? EXIT_OK : EXIT_CHECK_FAILED;
  } finally {
    await registrar?.cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
