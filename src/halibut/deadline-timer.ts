import { now } from '../core/clock.js';

/** Something with one deadline at a time: the deadline timer keeps its place in the heap on it. */
export interface DeadlineHolder {
  /** When the deadline falls (epoch ms, src/core/clock.ts); managed by the timer. */
  deadlineAt: number;
  /** Index in the timer's heap, -1 while not scheduled; managed by the timer. */
  deadlineIndex: number;
  /** Called once when the deadline has passed (never before it), unless cancelled first. */
  onDeadline(): void;
}

/** setTimeout's longest delay (2^31 - 1 ms); a later deadline re-arms when this fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One timer for many deadlines: an indexed binary min-heap of holders and one Timeout armed for
 * the earliest. Exact, not a coarse tick: the timer fires at the earliest deadline (within
 * scheduling jitter) and a holder is called only once its deadline has passed, so a read timeout
 * of 60 s ends after 60 s, never before and not a tick later. Re-scheduling or cancelling is
 * O(log n) and allocates nothing: the heap position lives on the holder itself. The Timeout is
 * stopped as soon as no deadline is left, so it keeps the process alive only while a read waits --
 * as each read's own timer did (a read on an in-memory stream must still time out).
 *
 * Why: every polling connection waits on a read with a timeout, and a Timeout object per
 * connection (with its closure and context) was most of what an idle connection held besides its
 * sockets; with this one timer an idle connection holds no timer of its own.
 */
export class DeadlineTimer {
  readonly #heap: DeadlineHolder[] = [];
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  readonly #onTimer = (): void => this.#fire();

  /** Deadlines scheduled and not yet called or cancelled (for tests). */
  get size(): number {
    return this.#heap.length;
  }

  /** Call `h.onDeadline()` once `at` (epoch ms) has passed; replaces any deadline `h` had. */
  schedule(h: DeadlineHolder, at: number): void {
    if (h.deadlineIndex >= 0) {
      const old = h.deadlineAt;
      h.deadlineAt = at;
      if (at < old) this.#up(h.deadlineIndex);
      else this.#down(h.deadlineIndex);
    } else {
      h.deadlineAt = at;
      h.deadlineIndex = this.#heap.length;
      this.#heap.push(h);
      this.#up(h.deadlineIndex);
    }
    this.#arm();
  }

  /** Drop `h`'s deadline, if it has one. */
  cancel(h: DeadlineHolder): void {
    const i = h.deadlineIndex;
    if (i < 0) return;
    this.#removeAt(i);
    // The timer stays armed for a deadline that may now be gone: it fires, finds nothing due and
    // re-arms for the new earliest (or stops when none is left). Cheaper than re-arming on every
    // cancel, which happens on every byte that arrives.
    if (this.#heap.length === 0) this.#stop();
  }

  #removeAt(i: number): void {
    const a = this.#heap;
    const h = a[i]!;
    const last = a.pop()!;
    h.deadlineIndex = -1;
    if (last !== h) {
      a[i] = last;
      last.deadlineIndex = i;
      this.#down(i);
      this.#up(last.deadlineIndex);
    }
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const t = now();
    const a = this.#heap;
    while (a.length > 0 && a[0]!.deadlineAt <= t) {
      const h = a[0]!;
      this.#removeAt(0);
      h.onDeadline();
    }
    this.#arm();
  }

  #arm(): void {
    const a = this.#heap;
    if (a.length === 0) return;
    const at = a[0]!.deadlineAt;
    // Already armed for this deadline or an earlier one (a late one is re-armed when it fires).
    if (this.#timer && this.#timerAt <= at) return;
    this.#stop();
    this.#timerAt = at;
    // +1: setTimeout may fire up to a millisecond early against a sub-millisecond clock; a holder
    // is called only once its deadline has passed, so firing early would only cost a re-arm.
    this.#timer = setTimeout(this.#onTimer, Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(at - now()) + 1)));
  }

  #stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  #up(i: number): void {
    const a = this.#heap;
    const h = a[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const ph = a[p]!;
      if (ph.deadlineAt <= h.deadlineAt) break;
      a[i] = ph;
      ph.deadlineIndex = i;
      i = p;
    }
    a[i] = h;
    h.deadlineIndex = i;
  }

  #down(i: number): void {
    const a = this.#heap;
    const n = a.length;
    const h = a[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]!.deadlineAt < a[l]!.deadlineAt ? r : l;
      const ch = a[c]!;
      if (h.deadlineAt <= ch.deadlineAt) break;
      a[i] = ch;
      ch.deadlineIndex = i;
      i = c;
    }
    a[i] = h;
    h.deadlineIndex = i;
  }
}

/** The deadline timer every protocol reader of this thread shares. */
export const readDeadlines = new DeadlineTimer();
