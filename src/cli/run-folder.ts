import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

/** reports/<name>-<yyyymmdd-hhmmss>/ unless --out names a folder. */
export function runFolder(name: string, out?: string): string {
  if (out) {
    mkdirSync(out, { recursive: true });
    return resolve(out);
  }
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  const dir = resolve('reports', `${name}-${stamp}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
