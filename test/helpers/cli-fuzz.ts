/**
 * Mutating the user's files (test/fuzz/cli-*.test.ts): a valid document is parsed, mutated
 * (a field dropped, a value of the wrong type, a huge or negative or NaN number, an unknown
 * key, deep nesting) and written back as YAML or JSON, or its text is damaged (truncated,
 * a byte flipped, garbage inserted). Every input must end in success or in ONE PollfleetError
 * with exit code 2 naming the file -- never another error, a stack trace or a hang.
 */
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { exitCodeForError, PollfleetError } from '../../src/core/errors.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

/** Every path to a value in `v` (the root excluded). */
export function pathsOf(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : v && typeof v === 'object' ? Object.entries(v) : [];
  for (const [k, x] of entries) {
    out.push([...prefix, k]);
    pathsOf(x, [...prefix, k], out);
  }
  return out;
}

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

/** Values of the wrong type or out of range for any field. */
export const arbHostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null, true, false, 0, -1, -0, 1.5, 2 ** 53 + 1, 1e308, -1e308, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
    '', ' ', 'NaN', '-5s', '-1ms', '1e999s', '99999999999999999999d', '0s', 'NaNs', 'Infinity', '1h1h', '5 s', 'node9', '*', '$', '\0', 'x'.repeat(10_000),
    [], {}, [[]], [{}], { '': 1 }, { __proto__: 1 }, JSON.parse('{"__proto__": {"polluted": 1}}'), { constructor: { prototype: 1 } },
  ),
  fc.constantFrom(5, 50, 500).map(nested),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 20 }),
  fc.double(),
  fc.integer(),
);

export type Mutation =
  | { op: 'drop'; at: number }
  | { op: 'set'; at: number; value: unknown }
  | { op: 'unknown-key'; at: number; key: string; value: unknown }
  | { op: 'wrap'; at: number };

export const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: arbHostileValue }) },
  fc.record({ op: fc.constant('unknown-key' as const), at: fc.nat(), key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty')), value: arbHostileValue }),
  fc.record({ op: fc.constant('wrap' as const), at: fc.nat() }),
);

/** Apply mutations to a deep copy of `doc`. */
export function mutate(doc: unknown, ms: Mutation[]): unknown {
  const root = { v: structuredClone(doc) as unknown };
  for (const m of ms) {
    const paths = pathsOf(root.v);
    const path: Path = paths.length ? paths[m.at % paths.length]! : [];
    const full: Path = ['v', ...path];
    let parent: Record<string | number, unknown> = root as unknown as Record<string, unknown>;
    for (const k of full.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const key = full.at(-1)!;
    switch (m.op) {
      case 'drop':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key];
        break;
      case 'set':
        parent[key] = structuredClone(m.value);
        break;
      case 'unknown-key': {
        const target = parent[key];
        if (target && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, m.key, { value: structuredClone(m.value), enumerable: true, writable: true, configurable: true });
        else parent[key] = { [m.key]: structuredClone(m.value) };
        break;
      }
      case 'wrap':
        parent[key] = [parent[key]];
        break;
    }
  }
  return root.v;
}

export type TextDamage = { cut: number | null; flip: [number, number] | null; insert: [number, Buffer] | null };

export const arbTextDamage: fc.Arbitrary<TextDamage> = fc.record({
  cut: fc.option(fc.nat(), { freq: 3 }),
  flip: fc.option(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { freq: 3 }),
  insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 }).map((a) => Buffer.from(a))), { freq: 3 }),
});

export function damage(text: Buffer, d: TextDamage): Buffer {
  let out = Buffer.from(text);
  if (d.flip && out.length) out[d.flip[0] % out.length] ^= d.flip[1];
  if (d.insert) {
    const at = d.insert[0] % (out.length + 1);
    out = Buffer.concat([out.subarray(0, at), d.insert[1], out.subarray(at)]);
  }
  if (d.cut !== null && out.length) out = out.subarray(0, d.cut % (out.length + 1));
  return out;
}

/** YAML (with NaN and infinities as .nan/.inf) or JSON text of a mutated document. */
export function serialise(doc: unknown, as: 'yaml' | 'json'): string {
  if (as === 'json') return JSON.stringify(doc) ?? 'null';
  try {
    return stringify(doc, { aliasDuplicateObjects: false });
  } catch {
    return JSON.stringify(doc) ?? 'null';
  }
}

/**
 * Bound on handling one input: parsing and validating a user file must never take long
 * (generous: the tests share a busy 2-core machine; the bugs it caught took 25-65 s).
 */
export const INPUT_BOUND_MS = 10_000;

export interface Outcome {
  ok: boolean;
  /** Why the outcome is a bug (null: accepted, or refused cleanly). */
  bug: string | null;
  message: string | null;
}

/**
 * Run `load` on one input file and judge it: accepted, or refused with one PollfleetError
 * (exit code 2) naming `mustName` (the file) in one message without a stack trace, in time.
 */
export function judgeLoad(load: () => unknown, mustName: string): Outcome {
  const started = performance.now();
  let outcome: Outcome;
  try {
    load();
    outcome = { ok: true, bug: null, message: null };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    let bug: string | null = null;
    if (!(e instanceof PollfleetError)) bug = `not a PollfleetError: ${(e as Error)?.stack ?? String(e)}`;
    else if (exitCodeForError(e) !== 2) bug = `exit code ${exitCodeForError(e)} (${e.kind}): ${message}`;
    else if (!message.includes(mustName)) bug = `the message does not name ${mustName}: ${message}`;
    else if (/\n\s+at .+:\d+:\d+/.test(message)) bug = `a stack trace in the message: ${message}`;
    outcome = { ok: false, bug, message };
  }
  const ms = performance.now() - started;
  if (ms > INPUT_BOUND_MS && !outcome.bug) outcome = { ...outcome, bug: `took ${Math.round(ms)} ms` };
  return outcome;
}

/** Write `content` to `file` and judge `load(file)`; throws (failing the property) on a bug. */
export function expectCleanLoad(file: string, content: string | Buffer, load: (file: string) => unknown, counter?: { inputs: number }): Outcome {
  writeFileSync(file, content);
  if (counter) counter.inputs++;
  const o = judgeLoad(() => load(file), file);
  if (o.bug) throw new Error(`${o.bug}\n--- input (${Buffer.byteLength(content)} bytes) ---\n${String(content).slice(0, 600)}`);
  return o;
}
