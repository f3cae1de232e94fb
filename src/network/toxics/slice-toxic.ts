import type { Next, ToxicDefinition, ToxicStage } from './toxic.js';

/**
 * Split every chunk into pieces of about sliceBytes (+-50 %), optionally sliceDelayMs
 * apart: exercises framing (a reader must not assume one message per read).
 */
class SliceStage implements ToxicStage {
  readonly #size: number;
  readonly #delayMs: number;
  readonly #queue: Array<{ chunk: Buffer; next: Next }> = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(size: number, delayMs: number) {
    this.#size = Math.max(1, size);
    this.#delayMs = delayMs;
  }

  #pieces(chunk: Buffer): Buffer[] {
    if (chunk.length === 0) return [chunk];
    const out: Buffer[] = [];
    for (let i = 0; i < chunk.length; ) {
      const n = Math.max(1, Math.round(this.#size * (0.5 + Math.random())));
      out.push(chunk.subarray(i, i + n));
      i += n;
    }
    return out;
  }

  write(chunk: Buffer, next: Next): void {
    const pieces = this.#pieces(chunk);
    if (this.#delayMs === 0) {
      for (const p of pieces) next(p);
      return;
    }
    for (const p of pieces) this.#queue.push({ chunk: p, next });
    if (!this.#timer) this.#timer = setTimeout(this.#fire, this.#delayMs);
  }

  readonly #fire = (): void => {
    this.#timer = null;
    const q = this.#queue.shift();
    if (q) q.next(q.chunk);
    if (this.#queue.length) this.#timer = setTimeout(this.#fire, this.#delayMs);
  };

  dispose(next: Next): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const q of this.#queue.splice(0)) next(q.chunk);
  }
}

export const sliceToxic = {
  kind: 'slice',
  summary: 'split writes into pieces of about sliceBytes, sliceDelayMs apart',
  create: (p) => new SliceStage(p.sliceBytes, p.sliceDelayMs),
} satisfies ToxicDefinition;
