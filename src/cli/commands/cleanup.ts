import { EXIT_CHECK_FAILED, EXIT_OK, PollfleetError } from '../../core/errors.js';
import { redactText } from '../../core/redact.js';
import { deleteLedgerEntries, isProcessGone } from '../../environment/external/machine-cleanup.js';
import { requireApiKey } from '../../environment/external/api-key-source.js';
import { Ledger } from '../../environment/external/ledger.js';
import { SYNTHETIC_REGISTRATION_DEFAULTS } from '../../scenario/defaults.js';
import { loadScenarioFile } from '../../scenario/loader.js';
import type { CliContext } from '../context.js';

export interface CleanupFlags {
  ledger?: string;
  apiKeyEnv?: string;
  apiKeyFile?: string;
  apiKey?: string;
  scenario?: string;
  force?: boolean;
}

/**
 * `pollfleet cleanup [--ledger FILE]`: delete the synthetic machines a run left behind (it
 * died before its own clean-up), exactly those listed in the ledger. Machines of a run that
 * is still going are left alone unless --force.
 */
export async function cleanupCommand(ctx: CliContext, f: CleanupFlags): Promise<number> {
  let ledgerFile = f.ledger;
  let keySource = { apiKeyEnv: f.apiKeyEnv ?? null, apiKeyFile: f.apiKeyFile ?? null };
  if (f.scenario) {
    const loaded = loadScenarioFile(f.scenario);
    const ext = loaded.kind === 'scenario' ? loaded.scenario.external : null;
    if (!ext) throw new PollfleetError('input.invalid', `${f.scenario}: not a scenario with an external target`);
    ledgerFile ??= ext.register?.ledgerFile;
    if (!f.apiKeyEnv && !f.apiKeyFile) keySource = { apiKeyEnv: ext.apiKeyEnv, apiKeyFile: ext.apiKeyFile };
  }
  if (!keySource.apiKeyEnv && !keySource.apiKeyFile && f.apiKey === undefined) keySource.apiKeyEnv = 'OCTOPUS_API_KEY';
  const ledger = new Ledger(ledgerFile ?? SYNTHETIC_REGISTRATION_DEFAULTS.ledgerFile);
  const all = ledger.entries();
  if (all.length === 0) {
    ctx.stdout.write(`nothing to clean up: ${ledger.file} lists no machines\n`);
    return EXIT_OK;
  }
  const live = all.filter((e) => !isProcessGone(e.pid));
  const todo = f.force ? all : all.filter((e) => isProcessGone(e.pid));
  if (live.length && !f.force) ctx.stderr.write(`leaving ${live.length} machine(s) of a run that is still going (pid ${[...new Set(live.map((e) => e.pid))].join(', ')}); --force deletes them too\n`);
  if (todo.length === 0) return EXIT_OK;
  const key = requireApiKey(keySource, 'pollfleet cleanup', f.apiKey);
  for (const w of key.warnings) ctx.stderr.write(`warning: ${w}\n`);
  ctx.stdout.write(`deleting ${todo.length} machine(s) listed in ${ledger.file}\n`);
  const out = await deleteLedgerEntries(ledger, todo, { apiKey: key.key, log: (l) => ctx.stdout.write(redactText(`  ${l}\n`, [key.key])) });
  ctx.stdout.write(`deleted ${out.deleted.length}, already gone ${out.alreadyGone.length}, failed ${out.failed.length}\n`);
  if (out.failed.length) {
    ctx.stderr.write(`${out.failed.length} machine(s) are still listed in ${ledger.file}; fix the cause above and run pollfleet cleanup again\n`);
    return EXIT_CHECK_FAILED;
  }
  return EXIT_OK;
}
