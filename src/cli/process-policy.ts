import { EXIT_INTERNAL_ERROR } from '../core/errors.js';
import { installProcessPolicy } from '../core/process-policy.js';
import { redactText } from '../core/redact.js';
import { PROCESS_POLICY_DEFAULTS } from '../scenario/defaults.js';

/**
 * The CLI process's policy for unhandled rejections and uncaught exceptions (the fleet runs
 * in this process): each is reported on stderr as an internal error (a bug in pollfleet) and
 * recorded; the first one stops a run in progress the way Ctrl-C does, so its partial Result
 * is still written (interrupted, with `internalErrors`), and the exit code is 3. With no run
 * in progress the process exits at once; if the shutdown hangs, it exits after a grace period.
 */
const recorded: string[] = [];
const listeners = new Set<(message: string) => void>();

/** The internal errors seen so far in this process. */
export function internalErrors(): readonly string[] {
  return recorded;
}

/** Be told of the first internal error (a run stops on it); returns the unsubscribe function. */
export function onInternalError(fn: (message: string) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function installCliProcessPolicy(stderr: NodeJS.WritableStream): () => void {
  return installProcessPolicy((message, error) => {
    recorded.push(message);
    stderr.write(
      `pollfleet: internal error (a bug in pollfleet, not a problem with the cluster or the input): ${message}\n` +
        '  please report it, with the command line and this output (POLLFLEET_DEBUG=1 adds the stack trace)\n',
    );
    if (process.env['POLLFLEET_DEBUG'] && error instanceof Error && error.stack) stderr.write(redactText(`${error.stack}\n`));
    if (recorded.length > 1) return;
    if (listeners.size === 0) process.exit(EXIT_INTERNAL_ERROR);
    stderr.write('pollfleet: stopping the run and writing a partial report\n');
    for (const fn of [...listeners]) fn(message);
    setTimeout(() => process.exit(EXIT_INTERNAL_ERROR), PROCESS_POLICY_DEFAULTS.shutdownGraceMs).unref();
  });
}
