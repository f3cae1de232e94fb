/**
 * Ctrl-C handling for long runs: the first SIGINT/SIGTERM aborts the run (it stops, cleans
 * up and still writes a partial Result); a second one exits at once.
 */
export function interruptSignal(onFirst: (sig: string) => void): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(130);
    onFirst(sig);
    ac.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
