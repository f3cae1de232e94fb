/**
 * Tests that need a system program (redis-server, haproxy, nginx, chromium): on CI
 * (CI=true) a missing one fails the test with the install command; elsewhere the test is
 * skipped with the same message.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Test } from 'tap';

export function locateProgram(name: string, extraDirs: string[] = ['/usr/sbin', '/usr/bin', '/usr/local/bin']): string | null {
  for (const dir of [...(process.env['PATH'] ?? '').split(delimiter), ...extraDirs]) {
    if (!dir) continue;
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

export function testNeeding(t: Test, program: string, installHint: string, name: string, fn: (t: Test, path: string) => Promise<void>): void {
  const path = locateProgram(program);
  if (path === null) {
    const why = `${program} is not installed (${installHint})`;
    if (process.env['CI'] === 'true') {
      t.test(name, (st) => {
        st.fail(`${why}; CI must install it`);
        st.end();
      });
    } else t.test(name, { skip: why }, () => undefined);
    return;
  }
  t.test(name, (st) => fn(st, path));
}
