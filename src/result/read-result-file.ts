import { InputTooLargeError, readInputFile } from '../core/read-input.js';
import type { z } from 'zod';
import { PollfleetError } from '../core/errors.js';
import { COMPARISON_SCHEMA, RESULT_SCHEMA, type Comparison, type Result } from './result.js';
import { comparisonSchema, resultSchema } from './result-schema.js';

/** Node's longest string (V8: 2^29 - 24 characters): a JSON file past it cannot be parsed at all. */
const RESULT_FILE_MAX_BYTES = 0x1fffffe8;

/**
 * Read a Result or Comparison JSON written by a run and validate it. On anything else
 * (missing file, bad JSON, a foreign document, a wrong or missing field) throws one
 * `input.invalid` error, one line, naming the file and the first wrong field:
 * `result.json: summary.coverage.final: expected a number, got string`.
 */
export function readResultFile(file: string): Result | Comparison {
  let text: string;
  try {
    text = readInputFile(file, RESULT_FILE_MAX_BYTES).toString('utf8');
  } catch (e) {
    if (e instanceof InputTooLargeError) throw new PollfleetError('input.invalid', `${e.message}: not a result.json pollfleet can read (the longest text Node holds)`);
    const code = (e as NodeJS.ErrnoException).code;
    throw new PollfleetError('input.invalid', code === 'ENOENT' ? `${file}: file not found` : `${file}: cannot read the file (${code ?? (e as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PollfleetError('input.invalid', `${file}: not a JSON file (${(e as Error).message})`);
  }
  return parseResultDocument(doc, file);
}

/** Validate an already parsed document (see readResultFile); `file` names it in the error. */
export function parseResultDocument(doc: unknown, file: string): Result | Comparison {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new PollfleetError('input.invalid', `${file}: expected a JSON object, got ${typeName(doc)}`);
  }
  const schema = (doc as { schema?: unknown }).schema;
  if (schema !== RESULT_SCHEMA && schema !== COMPARISON_SCHEMA) {
    const got = schema === undefined ? 'nothing (the field is missing)' : typeof schema === 'string' ? short(schema) : typeName(schema);
    throw new PollfleetError('input.invalid', `${file}: schema: expected "${RESULT_SCHEMA}" or "${COMPARISON_SCHEMA}", got ${got}`);
  }
  const parsed = schema === RESULT_SCHEMA ? resultSchema.safeParse(doc) : comparisonSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PollfleetError('input.invalid', `${file}: ${describeIssue(issue, doc)}`);
  }
  return parsed.data;
}

/** The document is a Comparison (several runs), not a single Result. */
export function isComparison(doc: Result | Comparison): doc is Comparison {
  return doc.schema === COMPARISON_SCHEMA;
}

/** `summary.nodes[2].pickupMs.p99` */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '') || '(top level)';
}

const EXPECTED: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  record: 'an object',
  null: 'null',
};

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'number' || typeof v === 'boolean' ? `${typeof v} ${JSON.stringify(v)}` : typeof v;
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let cur = doc;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function short(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = typeName(v); // nested too deeply to print
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** One issue in plain words: `<path>: expected <what>, got <what was there>`. */
function describeIssue(issue: z.core.$ZodIssue, doc: unknown): string {
  const where = formatFieldPath(issue.path);
  const actual = valueAt(doc, issue.path);
  const got = actual === undefined ? 'nothing (the field is missing)' : typeName(actual);
  switch (issue.code) {
    case 'invalid_type':
      return `${where}: expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${got}`;
    case 'invalid_value':
      return `${where}: expected ${issue.values.length > 2 ? 'one of ' : ''}${issue.values.map((v) => JSON.stringify(v)).join(issue.values.length > 2 ? ', ' : ' or ')}, got ${actual === undefined ? got : short(actual)}`;
    case 'too_small':
      return `${where}: expected ${issue.inclusive === false ? 'more than' : 'at least'} ${String(issue.minimum)}, got ${short(actual)}`;
    case 'too_big':
      if (issue.path.at(-1) === 'schemaVersion') return `${where}: version ${short(actual)} was written by a newer pollfleet (this one reads up to ${String(issue.maximum)})`;
      return `${where}: expected ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}, got ${short(actual)}`;
    default:
      return `${where}: ${issue.message.replace(/^Invalid input: /, '')}`;
  }
}
