import { readFileSync } from 'node:fs';
import { EXIT_INTERNAL_ERROR, PollfleetError, describeError, exitCodeForError } from '../core/errors.js';
import { redactText } from '../core/redact.js';

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

/** Print an error the way users should see it: one message, a hint, no stack, no secret; return the exit code. */
export function reportError(ctx: CliContext, e: unknown): number {
  const code = exitCodeForError(e);
  if (code === EXIT_INTERNAL_ERROR) {
    const msg = e instanceof Error ? e.message : String(e);
    ctx.stderr.write(redactText(
      `pollfleet: internal error (a bug in pollfleet, not a problem with the cluster or the input): ${msg}\n` +
        '  please report it, with the command line and this output (POLLFLEET_DEBUG=1 adds the stack trace)\n',
    ));
    if (process.env['POLLFLEET_DEBUG'] && e instanceof Error) ctx.stderr.write(redactText(`${e.stack}\n`));
    return code;
  }
  // A PollfleetError names what to fix; a system error (errno code) is about the environment.
  ctx.stderr.write(redactText(`pollfleet: ${e instanceof PollfleetError ? '' : 'unexpected error: '}${describeError(e)}\n`));
  return code;
}
