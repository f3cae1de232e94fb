import { statSync } from 'node:fs';
import { InputTooLargeError, readInputFile } from '../../core/read-input.js';
import { PollfleetError } from '../../core/errors.js';
import { registerSecret } from '../../core/redact.js';

/**
 * Where the API key of a real cluster comes from: an environment variable (external.apiKeyEnv)
 * or a file (external.apiKeyFile), never the scenario or the command-line history. A key
 * given as a flag still works, with a warning. The key itself is never part of a message.
 */
export interface ApiKeySource {
  apiKeyEnv: string | null;
  apiKeyFile: string | null;
}

export interface ResolvedApiKey {
  /** The secret. Never print it. */
  key: string;
  /** Where it came from, for messages: "environment variable X", "file F", "--api-key". */
  from: string;
  warnings: string[];
}

const KEY_RE = /^API-[A-Za-z0-9]{10,}$/;

function checkShape(key: string, from: string, warnings: string[]): void {
  if (!KEY_RE.test(key)) warnings.push(`the API key from ${from} does not look like an Octopus API key (API-...); using it anyway`);
}

/**
 * The key, or null when none is configured. Throws (input.invalid) when a configured source
 * is empty or unreadable. `flagKey` is a key given on the command line (warned about).
 */
export function resolveApiKey(src: ApiKeySource, flagKey?: string, env: NodeJS.ProcessEnv = process.env): ResolvedApiKey | null {
  const k = readApiKey(src, flagKey, env);
  // The key is a literal for every redaction step from now on: hidden even where it does not look like API-...
  registerSecret(k?.key);
  // It travels in the X-Octopus-ApiKey header: a space, line break or control character there
  // would fail every request with the HTTP client's "invalid header" -- say so once, up front.
  if (k && !/^[\x21-\x7e]+$/.test(k.key)) {
    throw new PollfleetError('input.invalid', `the API key from ${k.from} contains a space, line break or other character an HTTP header cannot carry`, {
      hint: 'an Octopus API key is API- followed by letters and digits; check the variable or file for a stray character',
    });
  }
  return k;
}

/**
 * The key of a cluster.json written by `pollfleet cluster --state-dir` (its `apiKey` field),
 * when the key file is one: an external run against the embedded cluster can point
 * external.apiKeyFile at it.
 */
function keyFromClusterJson(text: string, file: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new PollfleetError('input.invalid', `external.apiKeyFile: ${file} starts with "{" but is not a cluster.json file (not valid JSON)`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new PollfleetError('input.invalid', `external.apiKeyFile: ${file}: not a cluster.json file (expected a JSON object)`);
  const key = (doc as Record<string, unknown>)['apiKey'];
  if (typeof key !== 'string' || key.trim() === '') {
    throw new PollfleetError('input.invalid', `external.apiKeyFile: ${file}: apiKey: expected the API key (a string), got ${key === undefined ? 'nothing (the field is missing)' : key === null ? 'null' : Array.isArray(key) ? 'a list' : typeof key}`);
  }
  return key.trim();
}

function readApiKey(src: ApiKeySource, flagKey: string | undefined, env: NodeJS.ProcessEnv): ResolvedApiKey | null {
  const warnings: string[] = [];
  if (flagKey !== undefined) {
    warnings.push('--api-key puts the key in your shell history and the process list; prefer external.apiKeyEnv or external.apiKeyFile');
    const key = flagKey.trim();
    if (!key) throw new PollfleetError('input.invalid', '--api-key is empty');
    checkShape(key, '--api-key', warnings);
    return { key, from: '--api-key', warnings };
  }
  if (src.apiKeyEnv) {
    const key = (env[src.apiKeyEnv] ?? '').trim();
    if (!key) {
      throw new PollfleetError('input.invalid', `external.apiKeyEnv: the environment variable ${src.apiKeyEnv} is not set or empty`, {
        hint: `export ${src.apiKeyEnv}=API-... before running (the key is read from the environment, never from the scenario)`,
      });
    }
    const from = `environment variable ${src.apiKeyEnv}`;
    checkShape(key, from, warnings);
    return { key, from, warnings };
  }
  if (src.apiKeyFile) {
    let text: string;
    let mode: number;
    try {
      mode = statSync(src.apiKeyFile).mode;
      text = readInputFile(src.apiKeyFile, 64 * 1024).toString('utf8'); // a key is 36 characters
    } catch (e) {
      if (e instanceof InputTooLargeError) throw new PollfleetError('input.invalid', `external.apiKeyFile: ${e.message}: not an API key file`);
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new PollfleetError('input.invalid', `external.apiKeyFile: cannot read ${src.apiKeyFile} (${code})`);
    }
    const from = `file ${src.apiKeyFile}`;
    if ((mode & 0o077) !== 0) {
      warnings.push(`${src.apiKeyFile} is readable by ${mode & 0o007 ? 'everyone' : 'its group'} (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${src.apiKeyFile}`);
    }
    const key = text.trimStart().startsWith('{')
      ? keyFromClusterJson(text, src.apiKeyFile)
      : (text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#')) ?? '');
    if (!key) throw new PollfleetError('input.invalid', `external.apiKeyFile: ${src.apiKeyFile} holds no key`);
    checkShape(key, from, warnings);
    return { key, from, warnings };
  }
  return null;
}

/** The key or a clear error saying how to give one (for commands that cannot work without it). */
export function requireApiKey(src: ApiKeySource, why: string, flagKey?: string, env: NodeJS.ProcessEnv = process.env): ResolvedApiKey {
  const k = resolveApiKey(src, flagKey, env);
  if (!k) {
    throw new PollfleetError('input.invalid', `${why} needs an API key: set external.apiKeyEnv (the NAME of an environment variable) or external.apiKeyFile in the scenario`, {
      hint: 'e.g. external: { apiKeyEnv: OCTOPUS_API_KEY } and export OCTOPUS_API_KEY=API-...',
    });
  }
  return k;
}

/** Replace the key in any text that is about to be shown or written. */
export function scrubKey(text: string, key: string | null | undefined): string {
  return key && key.length >= 4 ? text.split(key).join('API-***') : text;
}
