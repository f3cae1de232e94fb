import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PollfleetError } from '../core/errors.js';

/**
 * Make (or reuse) the folder a command writes into; a path that cannot be one (an existing file, a
 * file on the way, no permission) is bad input naming the option, not an "unexpected error".
 */
export function outputFolder(dir: string, option = '--out'): string {
  try {
    mkdirSync(dir, { recursive: true });
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
