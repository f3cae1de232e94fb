import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Fork one of our own modules as a child process with an IPC channel. Works both from the
 * compiled dist/ (.js) and from TypeScript sources run through tsx (tests): a .ts module
 * is started with tsx's loader. `execArgv` and `env` add to what the child gets.
 */
export function forkModule(moduleUrl: URL, args: string[] = [], o: { execArgv?: readonly string[]; env?: Record<string, string> } = {}): ChildProcess {
  const path = fileURLToPath(moduleUrl);
  const isTs = path.endsWith('.ts');
  const execArgv = [...(isTs ? ['--import', 'tsx'] : []), ...(o.execArgv ?? [])];
  return fork(path, args, {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
    env: { ...process.env, ...o.env },
  });
}

/** URL of a sibling module with the same extension as the caller's (.ts under tsx, .js in dist/). */
export function siblingModule(callerUrl: string, baseName: string): URL {
  const ext = callerUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${baseName}${ext}`, callerUrl);
}
