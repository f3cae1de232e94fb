import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PollfleetError } from '../../core/errors.js';

/** Programs pollfleet can start as a real balancer (or, Squid, as the HTTP CONNECT proxy of route kind proxy). */
export type BalancerBinary = 'haproxy' | 'nginx' | 'squid';

/** The Debian / Ubuntu packages that provide each program (the same list CI installs). */
export const INSTALL_HINTS: Record<BalancerBinary, string> = {
  haproxy: 'apt-get install haproxy',
  nginx: 'apt-get install nginx libnginx-mod-stream',
  squid: 'apt-get install squid',
};

/** These programs live in sbin on Debian, which is often not in a normal user's PATH. */
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

export interface FindBinaryOptions {
  /** Defaults to process.env.PATH. */
  searchPath?: string;
  /** Searched after the PATH. Defaults to the sbin folders. */
  extraDirs?: readonly string[];
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Full path of `name` in the PATH or the sbin folders, or null when it is not installed. */
export function locateBinary(name: BalancerBinary, o: FindBinaryOptions = {}): string | null {
  const pathDirs = (o.searchPath ?? process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  for (const dir of [...pathDirs, ...(o.extraDirs ?? SBIN_DIRS)]) {
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/** Like locateBinary, but a missing program is an `environment.failed` error that says how to install it. */
export function findBinary(name: BalancerBinary, o: FindBinaryOptions = {}): string {
  const found = locateBinary(name, o);
  if (found !== null) return found;
  throw new PollfleetError('environment.failed', `${name} is not installed (not found in PATH or ${(o.extraDirs ?? SBIN_DIRS).join(', ')})`, {
    hint: `install it: ${INSTALL_HINTS[name]}`,
  });
}
