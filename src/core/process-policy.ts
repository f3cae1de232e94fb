import { EXIT_INTERNAL_ERROR } from './errors.js';
import { redactText } from './redact.js';

/**
 * The process policy of every pollfleet process (the CLI, which runs the fleet, and each node
 * process): an `unhandledRejection` or `uncaughtException` is never a silent death. It is an
 * internal error -- a bug in pollfleet -- handed to `onInternalError` (which reports it and
 * shuts down cleanly), and the exit code becomes 3 (EXIT_INTERNAL_ERROR).
 */
export type InternalErrorOrigin = 'unhandledRejection' | 'uncaughtException';

/** One line naming what went wrong, secrets redacted. */
export function describeInternalError(e: unknown, origin: InternalErrorOrigin): string {
  const what = origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception';
  const msg = e instanceof Error ? `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}` : String(e);
  return redactText(`${what}: ${msg}`);
}

/** Install the handlers; returns a function that removes them. */
export function installProcessPolicy(onInternalError: (message: string, error: unknown, origin: InternalErrorOrigin) => void): () => void {
  const handle = (origin: InternalErrorOrigin) => (e: unknown) => {
    process.exitCode = EXIT_INTERNAL_ERROR;
    onInternalError(describeInternalError(e, origin), e, origin);
  };
  const onRejection = handle('unhandledRejection');
  const onException = handle('uncaughtException');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
