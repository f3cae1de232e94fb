import { InputTooLargeError, readInputFile } from '../../core/read-input.js';
import { basename } from 'node:path';
import { EXIT_OK, PollfleetError } from '../../core/errors.js';
import { redactText } from '../../core/redact.js';
import { PROXY_PASSWORD_ENV, parseTentacleConfig, scenarioYamlFromTentacleConfig } from '../../scenario/tentacle-config.js';
import { writeFileAtomic } from '../../core/atomic-write.js';
import type { CliContext } from '../context.js';

export interface ImportConfigFlags {
  out?: string;
  name?: string;
}

/** A Tentacle.config is a few KB (Tentacle's own settings and its server entries). */
const TENTACLE_CONFIG_MAX_BYTES = 16 * 1024 * 1024;

/** `pollfleet import-config Tentacle.config [-o scenario.yaml]`: a scenario polling exactly what that Tentacle polls. */
export async function importConfigCommand(ctx: CliContext, file: string, f: ImportConfigFlags): Promise<number> {
  let text: string;
  try {
    text = readInputFile(file, TENTACLE_CONFIG_MAX_BYTES).toString('utf8');
  } catch (e) {
    if (e instanceof InputTooLargeError) throw new PollfleetError('input.invalid', `${e.message}: not a Tentacle.config (a few KB)`);
    const code = (e as NodeJS.ErrnoException).code;
    throw new PollfleetError('input.invalid', code === 'ENOENT' ? `${file}: file not found` : `${file}: cannot read (${code ?? 'error'})`, {
      hint: 'Tentacle.config is next to the Tentacle instance, e.g. C:\\Octopus\\Tentacle\\Tentacle.config or /etc/octopus/<instance>/tentacle-<instance>.config',
    });
  }
  const cfg = parseTentacleConfig(text, file);
  const name = f.name ?? (f.out ? basename(f.out).replace(/\.(ya?ml|json)$/i, '') : 'imported');
  const yaml = scenarioYamlFromTentacleConfig(cfg, file, /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) ? name : 'imported');
  if (f.out) {
    writeFileAtomic(f.out, yaml);
    ctx.stderr.write(`wrote ${f.out}: ${cfg.pollingServers.length} polling server entr${cfg.pollingServers.length === 1 ? 'y' : 'ies'}` +
      `${cfg.listeningServers ? ` (${cfg.listeningServers} listening left out)` : ''}; add an identity and apiKeyEnv, then: pollfleet preflight ${f.out}\n`);
  } else {
    ctx.stdout.write(yaml);
  }
  // The notes are in the YAML as comments; the ones that change what a run does are said here too.
  for (const n of cfg.notes) ctx.stderr.write(redactText(`note: ${n}\n`));
  if (cfg.proxy.kind === 'custom') {
    ctx.stderr.write(`note: the Tentacle polls through the HTTP proxy ${cfg.proxy.host}:${cfg.proxy.port}: the scenario uses the proxy route` +
      `${cfg.proxy.username ? `; set ${PROXY_PASSWORD_ENV} to the proxy password` : ''}\n`);
  } else if (cfg.proxy.kind === 'system') {
    ctx.stderr.write('note: the Tentacle uses the system proxy, which cannot be read from the file: the scenario connects directly\n');
  }
  return EXIT_OK;
}
