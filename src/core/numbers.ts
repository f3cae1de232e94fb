/**
 * Largest and smallest of a list of any length. `Math.max(...xs)` passes every element as an
 * argument and throws RangeError (call stack size) past ~100,000 of them: a day's timeline at
 * one point per second is 86,400.
 */
export function maxOf(xs: Iterable<number>, empty: number): number {
  let m = -Infinity;
  let any = false;
  for (const x of xs) {
    any = true;
    if (x > m) m = x;
  }
  return any ? m : empty;
}

export function minOf(xs: Iterable<number>, empty: number): number {
  let m = Infinity;
  let any = false;
  for (const x of xs) {
    any = true;
    if (x < m) m = x;
  }
  return any ? m : empty;
}
