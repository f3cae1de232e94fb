import type { Next, ToxicDefinition, ToxicStage } from './toxic.js';

/** Pass limitBytes in this direction (counted from when the toxic arrived), then close the connection. */
class LimitDataStage implements ToxicStage {
  #left: number;
  #closed = false;
  readonly #close: () => void;

  constructor(limitBytes: number, close: () => void) {
    this.#left = limitBytes;
    this.#close = close;
    if (limitBytes === 0) queueMicrotask(() => this.#end());
  }

  write(chunk: Buffer, next: Next): void {
    if (this.#closed) return;
    if (chunk.length <= this.#left) {
      this.#left -= chunk.length;
      next(chunk);
      if (this.#left === 0 && chunk.length > 0) this.#end();
      return;
    }
    next(chunk.subarray(0, this.#left));
    this.#left = 0;
    this.#end();
  }

  #end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#close();
  }

  dispose(): void {}
}

export const limitDataToxic = {
  kind: 'limit-data',
  summary: 'close the connection after limitBytes in this direction',
  create: (p, link) => new LimitDataStage(p.limitBytes, () => link.close()),
} satisfies ToxicDefinition;
