import type { Next, ToxicDefinition, ToxicStage } from './toxic.js';

/**
 * Delay every chunk by latency +- jitter, keeping order (a chunk never overtakes the one
 * before it). One timer per stage, re-armed for the next due chunk.
 */
class LatencyStage implements ToxicStage {
  readonly #queue: Array<{ dueAt: number; chunk: Buffer; next: Next }> = [];
  readonly #latencyMs: number;
  readonly #jitterMs: number;
  #timer: NodeJS.Timeout | null = null;
  #lastDueAt = 0;

  constructor(latencyMs: number, jitterMs: number) {
    this.#latencyMs = latencyMs;
    this.#jitterMs = jitterMs;
  }

  write(chunk: Buffer, next: Next): void {
    const jitter = this.#jitterMs ? (Math.random() * 2 - 1) * this.#jitterMs : 0;
    const dueAt = Math.max(this.#lastDueAt, performance.now() + Math.max(0, this.#latencyMs + jitter));
    this.#lastDueAt = dueAt;
    this.#queue.push({ dueAt, chunk, next });
    if (!this.#timer) this.#arm();
  }

  #arm(): void {
    const head = this.#queue[0];
    if (!head) return;
    this.#timer = setTimeout(this.#fire, Math.max(0, head.dueAt - performance.now()));
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

export const latencyToxic = {
  kind: 'latency',
  summary: 'delay every chunk by latencyMs +- jitterMs, in order',
  create: (p) => new LatencyStage(p.latencyMs, p.jitterMs),
} satisfies ToxicDefinition;
