import { readFileSync } from 'node:fs';
import { EXIT_BAD_INPUT, PollfleetError, describeError, exitCodeFor } from '../core/errors.js';

/** What every command gets: streams, colour, version. I/O is injected so commands stay testable. */
export interface CliContext {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  isTTY: boolean;
  color: boolean;
  version: string;
}

export function cliContext(): CliContext {
  const isTTY = !!process.stdout.isTTY;
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY,
    color: isTTY && !process.env['NO_COLOR'],
    version: toolVersion(),
  };
}

export function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Print an error the way users should see it: one message, a hint, no stack; return the exit code. */
export function reportError(ctx: CliContext, e: unknown): number {
  if (e instanceof PollfleetError) {
    ctx.stderr.write(`pollfleet: ${describeError(e)}\n`);
    return exitCodeFor(e.kind);
  }
  const msg = e instanceof Error ? e.message : String(e);
  ctx.stderr.write(`pollfleet: unexpected error: ${msg}\n`);
  if (process.env['POLLFLEET_DEBUG'] && e instanceof Error) ctx.stderr.write(`${e.stack}\n`);
  return EXIT_BAD_INPUT;
}
