import { InputTooLargeError, readInputFile } from '../core/read-input.js';
import { basename, extname } from 'node:path';
import { isScalar, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { PollfleetError } from '../core/errors.js';
import { resolveScenario, type Scenario } from './resolve.js';
import { comparisonSchema, scenarioBodySchema } from './schema.js';
import { validateThresholds } from '../verdict/threshold-parser.js';

export type LoadedScenarioFile =
  | { kind: 'scenario'; file: string; scenario: Scenario }
  | { kind: 'comparison'; file: string; name: string; description: string; variants: Scenario[] };

/** Raw overrides from the command line, laid over the file before validation (so they are validated too). */
export type RawOverrides = Record<string, unknown>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** Deep merge for plain objects; arrays and scalars from `over` replace. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  // defineProperty, not assignment: a `__proto__` key in a file stays a (refused) field.
  for (const [k, v] of Object.entries(over)) {
    Object.defineProperty(out, k, { value: deepMerge(Object.hasOwn(base, k) ? base[k] : undefined, v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Keys an object schema accepts at `path` (for "unknown field" messages). */
function knownKeys(path: PropertyKey[]): string[] {
  let s: unknown = scenarioBodySchema;
  const unwrap = (x: unknown): unknown => {
    let cur = x as { def?: { type?: string; innerType?: unknown; in?: unknown; element?: unknown } };
    for (let i = 0; i < 5 && cur?.def; i++) {
      const t = cur.def.type;
      if (t === 'optional' || t === 'nullable' || t === 'default') cur = cur.def.innerType as typeof cur;
      else if (t === 'pipe') cur = cur.def.in as typeof cur;
      else break;
    }
    return cur;
  };
  for (const key of path) {
    const u = unwrap(s) as { shape?: Record<string, unknown>; def?: { type?: string; element?: unknown } };
    if (typeof key === 'number' && u?.def?.type === 'array') s = u.def.element;
    else if (u?.shape && typeof key === 'string') s = u.shape[key];
    else return [];
  }
  const u = unwrap(s) as { shape?: Record<string, unknown> };
  return u?.shape ? Object.keys(u.shape) : [];
}

function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

function boundMessage(i: z.core.$ZodIssue): string {
  const b = i as unknown as { code: 'too_big' | 'too_small'; origin?: string; maximum?: number | bigint; minimum?: number | bigint; inclusive?: boolean };
  const n = b.code === 'too_big' ? b.maximum : b.minimum;
  const what = b.origin === 'string' ? ' characters' : b.origin === 'array' ? ' entries' : '';
  if (b.code === 'too_big') return b.inclusive === false ? `expected less than ${n}${what}` : `expected at most ${n}${what}`;
  return b.inclusive === false ? `expected more than ${n}${what}` : `expected at least ${n}${what}`;
}

function issueLines(prefix: string, issues: z.core.$ZodIssue[]): string[] {
  return issues.map((i) => {
    if (i.code === 'unrecognized_keys') {
      const keys = (i as unknown as { keys: string[] }).keys;
      const known = knownKeys(i.path);
      return keys
        .map((k) => `${prefix}${formatPath([...i.path, k])}: unknown field${known.length ? ` (expected one of: ${known.join(', ')})` : ''}`)
        .join('\n');
    }
    const where = formatPath(i.path) || '(top level)';
    let msg = i.message.replace(/^Invalid input: /, '');
    if (i.code === 'invalid_type' && /received undefined/.test(msg)) msg = msg.replace(/, received undefined/, '') + ' (missing)';
    // zod's own wording for a bound ("Too big: expected number to be <=100000") in ours; a field's own message stays.
    if ((i.code === 'too_big' || i.code === 'too_small') && /^Too (big|small): /.test(msg)) msg = boundMessage(i);
    return `${prefix}${where}: ${msg}`;
  });
}

/** A scenario is a few KB; anything this large is not one (and would only cost parse time). */
export const SCENARIO_FILE_MAX_BYTES = 1024 * 1024;
/** More faults than this in one scenario is a mistake (checking them grows with the square of the count). */
export const SCENARIO_MAX_FAULTS = 1000;

/**
 * The first key that appears twice in one YAML mapping, with its line. The yaml library's own
 * check compares every key with every other (minutes for a file of 20,000 keys), so it is off
 * and this one uses a set per mapping.
 */
function duplicateKey(doc: Document, text: string): { key: string; line: number } | null {
  let found: { key: string; line: number } | null = null;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) {
          const at = pair.key.range?.[0] ?? 0;
          let line = 1;
          for (let i = 0; i < at; i++) if (text.charCodeAt(i) === 10) line++;
          found = { key, line };
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
}

function parseFile(file: string): unknown {
  let text: string;
  try {
    text = readInputFile(file, SCENARIO_FILE_MAX_BYTES).toString('utf8');
  } catch (e) {
    if (e instanceof InputTooLargeError) throw new PollfleetError('scenario.invalid', `${e.message}: not a scenario file (a scenario is a few KB)`);
    const code = (e as NodeJS.ErrnoException).code;
    throw new PollfleetError(
      'scenario.not-found',
      code === 'ENOENT' ? `${file}: scenario file not found` : `${file}: cannot read the scenario file (${code ?? (e as Error).message})`,
      { hint: 'ready-made scenarios are in scenarios/ (e.g. scenarios/direct.yaml)' },
    );
  }
  if (extname(file).toLowerCase() === '.json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new PollfleetError('scenario.invalid', `${file}: not valid JSON: ${(e as Error).message}`);
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new PollfleetError('scenario.invalid', `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax error: ${e.message.split('\n')[0]}`);
  }
  const dup = duplicateKey(doc, text);
  if (dup) throw new PollfleetError('scenario.invalid', `${file}:${dup.line}: ${dup.key}: the key appears twice in one mapping`);
  try {
    // The yaml library refuses alias bombs (its maxAliasCount) with a ReferenceError; deep
    // nesting can overflow the stack: both are a bad file, not a bug.
    return doc.toJS();
  } catch (e) {
    const why = e instanceof RangeError ? 'nested too deeply' : (e as Error).message;
    throw new PollfleetError('scenario.invalid', `${file}: not a usable YAML scenario file: ${why}`);
  }
}

function validateBody(raw: unknown, file: string, prefix: string, fallbackName: string): { scenario?: Scenario; lines: string[] } {
  const faults = isPlainObject(raw) ? raw['faults'] : undefined;
  if (Array.isArray(faults) && faults.length > SCENARIO_MAX_FAULTS) return { lines: [`${file}: ${prefix}faults: at most ${SCENARIO_MAX_FAULTS} faults, got ${faults.length}`] };
  const parsed = scenarioBodySchema.safeParse(raw);
  if (!parsed.success) return { lines: issueLines(`${file}: ${prefix}`, parsed.error.issues) };
  // Thresholds are checked here too, so a bad metric is reported before any traffic is sent.
  const thresholdLines = validateThresholds(parsed.data.thresholds ?? []).map((p) => `${file}: ${prefix}${p}`);
  const r = resolveScenario(parsed.data, fallbackName);
  if (!r.scenario || thresholdLines.length) return { lines: [...r.problems.map((p) => `${file}: ${prefix}${p.path}: ${p.message}`), ...thresholdLines] };
  return { scenario: r.scenario, lines: [] };
}

/**
 * Load, validate and resolve a scenario or comparison file. Every problem is reported at
 * once in one PollfleetError ('scenario.invalid', exit code 2) naming file, field and what
 * was expected.
 */
export function loadScenarioFile(file: string, overrides: RawOverrides = {}): LoadedScenarioFile {
  const raw = parseFile(file);
  const fallbackName = basename(file).replace(/\.(ya?ml|json)$/i, '');
  if (!isPlainObject(raw)) throw new PollfleetError('scenario.invalid', `${file}: expected a mapping of settings at the top level`);

  if ('variants' in raw) {
    const c = comparisonSchema.safeParse(raw);
    if (!c.success) throw new PollfleetError('scenario.invalid', issueLines(`${file}: `, c.error.issues).join('\n'));
    const lines: string[] = [];
    const variants: Scenario[] = [];
    const names = new Set<string>();
    c.data.variants.forEach((v, i) => {
      const merged = deepMerge(deepMerge(c.data.base ?? {}, v), overrides);
      if (!isPlainObject(merged) || typeof merged['name'] !== 'string') {
        lines.push(`${file}: variants[${i}].name: each variant needs a name`);
        return;
      }
      if (names.has(merged['name'])) lines.push(`${file}: variants[${i}].name: "${merged['name']}" is used twice`);
      names.add(merged['name']);
      const r = validateBody(merged, file, `variants[${i}] `, `variant${i + 1}`);
      lines.push(...r.lines);
      if (r.scenario) variants.push(r.scenario);
    });
    if (lines.length) throw new PollfleetError('scenario.invalid', lines.join('\n'));
    return { kind: 'comparison', file, name: c.data.name ?? fallbackName, description: c.data.description ?? '', variants };
  }

  const r = validateBody(deepMerge(raw, overrides), file, '', fallbackName);
  if (!r.scenario) throw new PollfleetError('scenario.invalid', r.lines.join('\n'));
  return { kind: 'scenario', file, scenario: r.scenario };
}

/** A scenario from flags alone (no file): the same validation, with "--flags" as the file name. */
export function scenarioFromObject(raw: Record<string, unknown>, label = 'command line'): Scenario {
  const r = validateBody(raw, label, '', String(raw['name'] ?? 'adhoc'));
  if (!r.scenario) throw new PollfleetError('scenario.invalid', r.lines.join('\n'));
  return r.scenario;
}
