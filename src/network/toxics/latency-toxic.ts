import { TimedRelease } from './timed-release.js';
import type { Next, ToxicDefinition, ToxicStage } from './toxic.js';

/**
 * Delay every chunk by latency +- jitter, keeping order (a chunk never overtakes the one
 * before it).
 */
class LatencyStage implements ToxicStage {
  readonly #release = new TimedRelease();
  readonly #latencyMs: number;
  readonly #jitterMs: number;
  #lastDueAt = 0;

  constructor(latencyMs: number, jitterMs: number) {
    this.#latencyMs = latencyMs;
    this.#jitterMs = jitterMs;
  }

  write(chunk: Buffer, next: Next): void {
    const jitter = this.#jitterMs ? (Math.random() * 2 - 1) * this.#jitterMs : 0;
    const dueAt = Math.max(this.#lastDueAt, performance.now() + Math.max(0, this.#latencyMs + jitter));
    this.#lastDueAt = dueAt;
    this.#release.hold(dueAt, chunk, next);
  }

  dispose(next: Next): void {
    this.#release.flush(next);
  }
}

export const latencyToxic = {
  kind: 'latency',
  summary: 'delay every chunk by latencyMs +- jitterMs, in order',
  create: (p) => new LatencyStage(p.latencyMs, p.jitterMs),
} satisfies ToxicDefinition;
