import { TimedRelease } from './timed-release.js';
import type { Next, ToxicDefinition, ToxicStage } from './toxic.js';

/** Limit throughput to bytesPerSec: each chunk leaves when the link would have finished sending it. */
class BandwidthStage implements ToxicStage {
  readonly #bytesPerMs: number;
  readonly #release = new TimedRelease();
  #freeAt = 0;

  constructor(bytesPerSec: number) {
    this.#bytesPerMs = bytesPerSec / 1000;
  }

  write(chunk: Buffer, next: Next): void {
    const start = Math.max(this.#freeAt, performance.now());
    this.#freeAt = start + chunk.length / this.#bytesPerMs;
    this.#release.hold(this.#freeAt, chunk, next);
  }

  dispose(next: Next): void {
    this.#release.flush(next);
  }
}

export const bandwidthToxic = {
  kind: 'bandwidth',
  summary: 'limit throughput to bytesPerSec',
  create: (p) => new BandwidthStage(p.bytesPerSec),
} satisfies ToxicDefinition;
