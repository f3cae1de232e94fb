import { PollfleetError } from '../../core/errors.js';

/**
 * Spaces calls at least 1000 / perSecond ms apart (registrations against a real cluster).
 * `stop()` rejects every waiting caller, so a stopping run is never held up by the limiter.
 */
export class RateLimiter {
  readonly #intervalMs: number;
  #next = 0;
  #waiting = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();
  #stopped = false;

  constructor(perSecond: number) {
    this.#intervalMs = 1000 / perSecond;
  }

  acquire(): Promise<void> {
    if (this.#stopped) return Promise.reject(new PollfleetError('internal', 'stopped'));
    const at = performance.now();
    const slot = Math.max(at, this.#next);
    this.#next = slot + this.#intervalMs;
    const delay = slot - at;
    if (delay < 1) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w = {
        timer: setTimeout(() => {
          this.#waiting.delete(w);
          resolve();
        }, delay),
        reject,
      };
      this.#waiting.add(w);
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const w of this.#waiting) {
      clearTimeout(w.timer);
      w.reject(new PollfleetError('internal', 'stopped while waiting to register'));
    }
    this.#waiting.clear();
  }
}
