/**
 * Collects items and hands them on in batches, in order: when `maxItems` are waiting, or
 * `maxDelayMs` after the first of a batch arrived, whichever comes first; flush() hands on
 * whatever waits at once. A fleet worker batches its events this way, so the main thread gets
 * one message per batch rather than one per event.
 */
export class EventBatcher<T> {
  #items: T[] = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly send: (items: T[]) => void,
    private readonly maxItems: number,
    private readonly maxDelayMs: number,
  ) {}

  /** Items waiting for the next batch. */
  get pending(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length >= this.maxItems) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
  }

  /** Hand on everything waiting now (nothing when empty). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#items.length === 0) return;
    const batch = this.#items;
    this.#items = [];
    this.send(batch);
  }
}
