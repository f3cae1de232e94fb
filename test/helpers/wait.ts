/**
 * Bounded waiting for tests: every wait names what it waits for and gives up after a
 * stated time, so a hung test fails with a sentence instead of tap's global timeout.
 */

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rejects with "timed out after <ms> ms waiting for <what>" when `p` does not settle in time. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Call `check` every `everyMs` until it returns something other than `false` or
 * `undefined`, and resolve with that; reject after `ms`. A condition (`() => x === 1`)
 * and a lookup (`() => list.find(...)`) both work.
 */
export async function waitFor<T>(check: () => T | false | undefined, ms: number, what: string, everyMs = 10): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
