import type { Next, ToxicStage } from './toxic.js';

/** A zero-length chunk travels the chain as the end of the stream (the peer's FIN). */
export const END_OF_STREAM = Buffer.alloc(0);

/**
 * One direction of one proxied connection: a chain of toxic stages between the socket data
 * is read from and the socket it is written to. Stages are added and removed while data
 * flows; a removed stage hands on what it held back to the stages after it.
 */
export class Link {
  readonly #stages: Array<{ id: number; stage: ToxicStage }> = [];
  readonly #out: Next;

  constructor(out: Next) {
    this.#out = out;
  }

  get size(): number {
    return this.#stages.length;
  }

  push(chunk: Buffer): void {
    this.#pass(0, chunk);
  }

  add(id: number, stage: ToxicStage): void {
    this.#stages.push({ id, stage });
  }

  remove(id: number): void {
    const i = this.#stages.findIndex((s) => s.id === id);
    if (i < 0) return;
    const [{ stage }] = this.#stages.splice(i, 1) as [{ id: number; stage: ToxicStage }];
    stage.dispose((b) => this.#pass(i, b));
  }

  /** The connection is gone: cancel every stage's timers (nothing more is delivered). */
  dispose(): void {
    for (const { stage } of this.#stages.splice(0)) stage.dispose(() => undefined);
  }

  has(id: number): boolean {
    return this.#stages.some((s) => s.id === id);
  }

  #pass(index: number, chunk: Buffer): void {
    const s = this.#stages[index];
    if (!s) return this.#out(chunk);
    const id = s.id;
    s.stage.write(chunk, (b) => {
      // the stage may have moved (another one removed before it) or been removed itself
      const at = this.#stages.findIndex((x) => x.id === id);
      this.#pass(at < 0 ? index : at + 1, b);
    });
  }
}
