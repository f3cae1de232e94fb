import type { Next } from './toxic.js';

/**
 * Chunks held until a due time, released in order by one timer re-armed for the next due
 * chunk. Shared by the toxics that delay data (latency, bandwidth); they only compute dueAt.
 */
export class TimedRelease {
  readonly #queue: Array<{ dueAt: number; chunk: Buffer; next: Next }> = [];
  #timer: NodeJS.Timeout | null = null;

  /** Hold `chunk` until `dueAt` (performance.now() time); due times must not decrease. */
  hold(dueAt: number, chunk: Buffer, next: Next): void {
    this.#queue.push({ dueAt, chunk, next });
    if (!this.#timer) this.#arm();
  }

  #arm(): void {
    const head = this.#queue[0];
    if (head) this.#timer = setTimeout(this.#fire, Math.max(0, head.dueAt - performance.now()));
  }

  readonly #fire = (): void => {
    this.#timer = null;
    const t = performance.now();
    while (this.#queue.length && this.#queue[0]!.dueAt <= t + 1) {
      const { chunk, next } = this.#queue.shift()!;
      next(chunk);
    }
    this.#arm();
  };

  /** Stop waiting: everything held goes on at once (in-flight data is never lost). */
  flush(next: Next): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const q of this.#queue.splice(0)) next(q.chunk);
  }
}
