import type { Next, ToxicDefinition, ToxicStage } from './toxic.js';

/** Limit throughput to bytesPerSec: each chunk leaves when the link would have finished sending it. */
class BandwidthStage implements ToxicStage {
  readonly #bytesPerMs: number;
  readonly #queue: Array<{ dueAt: number; chunk: Buffer; next: Next }> = [];
  #timer: NodeJS.Timeout | null = null;
  #freeAt = 0;

  constructor(bytesPerSec: number) {
    this.#bytesPerMs = bytesPerSec / 1000;
  }

  write(chunk: Buffer, next: Next): void {
    const start = Math.max(this.#freeAt, performance.now());
    this.#freeAt = start + chunk.length / this.#bytesPerMs;
    this.#queue.push({ dueAt: this.#freeAt, chunk, next });
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

  dispose(next: Next): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const q of this.#queue.splice(0)) next(q.chunk);
  }
}

export const bandwidthToxic = {
  kind: 'bandwidth',
  summary: 'limit throughput to bytesPerSec',
  create: (p) => new BandwidthStage(p.bytesPerSec),
} satisfies ToxicDefinition;
