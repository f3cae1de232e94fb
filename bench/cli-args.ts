/**
 * The command line of the bench scripts (`npm run bench`, `npm run soak`, `npm run fuzz`) as the
 * CLI treats its own: `--help` prints the usage (exit 0); an unknown option, a missing value or a
 * value of the wrong kind is one line naming the option and what was expected, then the usage,
 * exit 2 -- never a stack trace, and never a long run started with a typo silently ignored.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MAX_DURATION_MS, MAX_DURATION_TEXT, parseDuration } from '../src/scenario/duration.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Prints `message` and the usage to stderr and exits 2. */
export function usageError(command: string, usage: string, message: string): never {
  process.stderr.write(`${command}: ${message}\n\n${usage.trimEnd()}\n`);
  process.exit(2);
}

/** The parsed options (strings and booleans as declared), or exit: 0 after --help, 2 on a slip. */
export function benchArgs<O extends Options>(command: string, usage: string, options: O) {
  if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(`${usage.trimEnd()}\n`);
    process.exit(0);
  }
  try {
    return parseArgs({ options, allowPositionals: false, strict: true }).values;
  } catch (e) {
    // node's messages name the option: "Unknown option '--tentacle'", "Option '--json <value>' argument missing"
    return usageError(command, usage, (e as Error).message.split('. ')[0]!.replace(/\.$/, ''));
  }
}

/** A number >= `min` (a whole one with `integer`), or exit 2 naming the option. */
export function numberArg(command: string, usage: string, name: string, v: string | undefined, min: number, integer = false): number {
  const n = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    usageError(command, usage, `--${name} must be ${integer ? 'a whole number' : 'a number'} >= ${min}, got ${JSON.stringify(v ?? '')}`);
  }
  return n;
}

/** A duration above zero (`30s`, `5m`) in ms, or exit 2 naming the option. */
export function durationArg(command: string, usage: string, name: string, v: string | undefined): number {
  const ms = v === undefined ? null : parseDuration(v);
  if (ms === null || ms <= 0) usageError(command, usage, `--${name} must be a duration above zero (30s, 5m), got ${JSON.stringify(v ?? '')}`);
  if (ms > MAX_DURATION_MS) usageError(command, usage, `--${name} must be at most ${MAX_DURATION_TEXT} (the longest a timer can wait), got ${JSON.stringify(v)}`);
  return ms;
}
