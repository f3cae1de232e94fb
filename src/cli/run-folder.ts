import { mkdirSync, rmdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PollfleetError } from '../core/errors.js';

/** Folders this process created, each with the outermost one it had to create (`reports/` on a first run): a folder the user already had is never removed. */
const made = new Map<string, string>();

/**
 * Make (or reuse) the folder a command writes into; a path that cannot be one (an existing file, a
 * file on the way, no permission) is bad input naming the option, not an "unexpected error".
 */
export function outputFolder(dir: string, option = '--out'): string {
  try {
    const first = mkdirSync(dir, { recursive: true });
    if (first !== undefined) made.set(resolve(dir), resolve(first));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST' || code === 'ENOTDIR' ? 'exists and is not a folder (or a file is in its path)'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? `cannot be created here (${code})`
      : `cannot be created (${code ?? String(e)})`;
    throw new PollfleetError('input.invalid', `${option} ${dir}: ${why}`, { hint: `${option} names the folder the result and reports are written to` });
  }
  return resolve(dir);
}

/** reports/<name>-<yyyymmdd-hhmmss>/ unless --out names a folder. */
export function runFolder(name: string, out?: string): string {
  if (out) return outputFolder(out);
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  return outputFolder(resolve('reports', `${name}-${stamp}`), 'the run folder');
}

/**
 * A run that stopped before writing anything -- bad input found once the run began (an identity
 * file missing, `register` without an API key), the environment failing to start -- leaves no
 * empty folder behind. Only a folder this process created, and only while it is empty.
 */
export function discardIfEmpty(dir: string): void {
  const d = resolve(dir);
  const first = made.get(d);
  if (first === undefined) return;
  made.delete(d);
  try {
    for (let p = d; ; p = dirname(p)) {
      rmdirSync(p);
      if (p === first || p === dirname(p)) break;
    }
  } catch {
    // not empty (something was written, or another run's folder: keep it) or already gone
  }
}
