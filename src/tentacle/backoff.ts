/**
 * Reconnect back-off of one polling connection ([H] section 5):
 *
 *   delay = clamp(elapsedMs x m, minMs, maxMs),  m = 1 + random[0,1) fixed per connection
 *
 * `elapsed` runs from the start of the first attempt that has not yet succeeded and keeps
 * running across sleeps, so delays grow roughly geometrically. A successful identification
 * (`MX-SERVER`) stops and resets the clock: the next failure waits `minMs`, and the clock
 * starts again with the attempt after it.
 */
export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
}

/** The policy as a pure function. */
export function backoffDelayMs(elapsedMs: number, multiplier: number, p: BackoffPolicy): number {
  const d = Math.max(0, elapsedMs) * multiplier;
  return d < p.minMs ? p.minMs : d > p.maxMs ? p.maxMs : d;
}

/** Per-connection back-off state: one multiplier and one running clock. */
export class BackoffClock {
  readonly multiplier: number;
  readonly #policy: BackoffPolicy;
  /** When the clock started (start of the first failing attempt), or null while stopped. */
  #startedAtMs: number | null = null;
  /** Identified since the last failure: that failure waits minMs and leaves the clock stopped. */
  #wasReset = false;

  constructor(policy: BackoffPolicy, random: () => number = Math.random) {
    if (!(policy.minMs >= 0) || !(policy.maxMs >= policy.minMs)) {
      throw new RangeError(`back-off needs 0 <= minMs <= maxMs, got minMs=${policy.minMs} maxMs=${policy.maxMs}`);
    }
    this.#policy = policy;
    this.multiplier = 1 + random();
  }

  /**
   * An attempt failed (or ended) at `nowMs`; returns how long to sleep before the next one.
   * `attemptStartedAtMs` is when that attempt began (defaults to `nowMs`): the clock starts
   * there when it is not running yet.
   */
  failed(nowMs: number, attemptStartedAtMs: number = nowMs): number {
    if (this.#startedAtMs === null) {
      if (this.#wasReset) {
        this.#wasReset = false;
        return this.#policy.minMs;
      }
      this.#startedAtMs = attemptStartedAtMs;
    }
    return backoffDelayMs(nowMs - this.#startedAtMs, this.multiplier, this.#policy);
  }

  /** The connection identified: reset the clock. */
  identified(): void {
    this.#startedAtMs = null;
    this.#wasReset = true;
  }
}
