import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PollfleetError } from '../core/errors.js';
import { redact, redactText } from '../core/redact.js';
import type { Result } from '../result/result.js';
import type { HistoryMetric, HistorySource } from '../verdict/history-thresholds.js';

/**
 * Run history: each run's summary appended to a local SQLite file (WAL mode, so a
 * scheduled check can append while someone reads it), for trends and regressions. The store
 * only keeps and reads figures: regressions are found by verdict/history-regressions.ts,
 * the table is rendered by report/render-history.ts, and history thresholds read the store
 * through verdict's HistorySource, which it satisfies.
 */

export interface HistoryRun {
  id: number;
  scenario: string;
  route: string;
  startedAt: string;
  durationMs: number;
  pass: boolean;
  coverageMin: number;
  coverageFinal: number;
  pickupP99: number | null;
  expired: number | null;
  reconnects: number;
  resultPath: string | null;
}

export interface HistoryNodeRun {
  runId: number;
  node: string;
  connected: number | null;
  pickupP99: number | null;
  expired: number | null;
  coverageMin: number;
}

export interface ListOptions {
  scenario?: string;
  route?: string;
  /** Only the newest N runs (still returned oldest first). */
  last?: number;
}

type Column = 'pickup_p99' | 'coverage_min' | 'coverage_final' | 'expired' | 'reconnects';

/** The column each metric a history threshold may reference is kept in. */
const COLUMN_OF: Record<HistoryMetric, Column> = {
  'pickupMs.p99': 'pickup_p99',
  'coverage.min': 'coverage_min',
  'coverage.final': 'coverage_final',
  'requests.expired': 'expired',
  reconnects: 'reconnects',
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  scenario TEXT NOT NULL,
  route TEXT NOT NULL,
  started_at TEXT NOT NULL,
  duration_ms REAL NOT NULL,
  pass INTEGER NOT NULL,
  coverage_min REAL NOT NULL,
  coverage_final REAL NOT NULL,
  pickup_p99 REAL,
  expired INTEGER,
  reconnects INTEGER NOT NULL,
  result_path TEXT
);
CREATE INDEX IF NOT EXISTS runs_scenario ON runs (scenario, route, started_at);
CREATE TABLE IF NOT EXISTS node_runs (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  node TEXT NOT NULL,
  connected INTEGER,
  pickup_p99 REAL,
  expired INTEGER,
  coverage_min REAL NOT NULL,
  PRIMARY KEY (run_id, node)
);
`;

interface RunRow {
  id: number;
  scenario: string;
  route: string;
  started_at: string;
  duration_ms: number;
  pass: number;
  coverage_min: number;
  coverage_final: number;
  pickup_p99: number | null;
  expired: number | null;
  reconnects: number;
  result_path: string | null;
}

export class HistoryStore implements HistorySource {
  readonly file: string;
  readonly #db: Database.Database;

  constructor(file: string) {
    this.file = file;
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    try {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('foreign_keys = ON');
      checkSchema(this.#db, file);
      this.#db.exec(SCHEMA);
    } catch (e) {
      this.#db.close();
      throw e;
    }
  }

  /** A read of the store: a damaged file (SQLITE_CORRUPT ...) is bad input naming the file, never a crash. */
  #read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof PollfleetError || e instanceof RangeError) throw e;
      throw new PollfleetError('input.invalid', `${this.file}: not a usable pollfleet history store (${(e as Error).message})`);
    }
  }

  /** Append one run and its nodes (redacted: no secret is stored); returns the run id. */
  append(judged: Result, resultPath: string | null = null): number {
    const result = redact(judged);
    const insertRun = this.#db.prepare(
      `INSERT INTO runs (scenario, route, started_at, duration_ms, pass, coverage_min, coverage_final, pickup_p99, expired, reconnects, result_path)
       VALUES (@scenario, @route, @startedAt, @durationMs, @pass, @coverageMin, @coverageFinal, @pickupP99, @expired, @reconnects, @resultPath)`,
    );
    const insertNode = this.#db.prepare(
      `INSERT INTO node_runs (run_id, node, connected, pickup_p99, expired, coverage_min) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const tx = this.#db.transaction((r: Result) => {
      const s = r.summary;
      const info = insertRun.run({
        scenario: r.name,
        route: r.route,
        startedAt: r.startedAt,
        durationMs: r.durationMs,
        pass: r.verdict.pass ? 1 : 0,
        coverageMin: s.coverage.min,
        coverageFinal: s.coverage.final,
        pickupP99: s.pickupMs?.p99 ?? null,
        expired: s.requests?.expired ?? null,
        reconnects: s.reconnects,
        resultPath,
      });
      const id = Number(info.lastInsertRowid);
      for (const n of r.nodes) {
        insertNode.run(id, n.name, n.connectedTentacles, n.pickupMs?.p99 ?? null, n.requests?.expired ?? null, n.coverage.min);
      }
      return id;
    });
    return tx(result);
  }

  /** Runs ordered oldest -> newest. */
  list(options: ListOptions = {}): HistoryRun[] {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (options.scenario !== undefined) {
      where.push('scenario = @scenario');
      params.scenario = options.scenario;
    }
    if (options.route !== undefined) {
      where.push('route = @route');
      params.route = options.route;
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    let sql = `SELECT * FROM runs ${filter} ORDER BY started_at ASC, id ASC`;
    if (options.last !== undefined) {
      if (!Number.isInteger(options.last) || options.last < 1) {
        throw new RangeError(`last must be a whole number >= 1, got ${options.last}`);
      }
      sql = `SELECT * FROM (SELECT * FROM runs ${filter} ORDER BY started_at DESC, id DESC LIMIT @last) ORDER BY started_at ASC, id ASC`;
      params.last = options.last;
    }
    return this.#read(() => this.#db.prepare(sql).all(params) as RunRow[]).map((r) => toRun(r, this.file));
  }

  nodeRuns(runId: number): HistoryNodeRun[] {
    const rows = this.#read(() => this.#db.prepare('SELECT * FROM node_runs WHERE run_id = ? ORDER BY node').all(runId)) as Array<{
      run_id: number; node: string; connected: number | null; pickup_p99: number | null; expired: number | null; coverage_min: number;
    }>;
    return rows.map((r) => ({ runId: r.run_id, node: r.node, connected: r.connected, pickupP99: r.pickup_p99, expired: r.expired, coverageMin: r.coverage_min }));
  }

  /**
   * HistorySource: up to `last` previous values of a metric for this scenario and route,
   * oldest first, for history thresholds (`2 x median(last 10)`). Runs that did not measure
   * the figure are skipped.
   */
  values(scenario: string, route: string, metric: HistoryMetric, last: number): number[] {
    const column = COLUMN_OF[metric];
    const rows = this.#read(() =>
      this.#db
        .prepare(`SELECT v FROM (SELECT ${column} AS v, started_at, id FROM runs WHERE scenario = ? AND route = ? AND ${column} IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT ?) ORDER BY started_at ASC, id ASC`)
        .all(scenario, route, last),
    ) as Array<{ v: unknown }>;
    return rows.map((r, i) => cell(r.v, 'number', this.file, `${column} of the ${i + 1}. of the last runs`) as number);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

/** The columns each table must have (a store written by this or an earlier pollfleet). */
const REQUIRED_COLUMNS: Record<string, string[]> = {
  runs: ['id', 'scenario', 'route', 'started_at', 'duration_ms', 'pass', 'coverage_min', 'coverage_final', 'pickup_p99', 'expired', 'reconnects', 'result_path'],
  node_runs: ['run_id', 'node', 'connected', 'pickup_p99', 'expired', 'coverage_min'],
};

/**
 * An empty database becomes a store; one with tables must be a pollfleet store already:
 * another application's database is refused, never written to.
 */
function checkSchema(db: Database.Database, file: string): void {
  const objects = db.prepare("SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").all() as Array<{ name: string; type: string }>;
  if (objects.length === 0) return;
  for (const [table, columns] of Object.entries(REQUIRED_COLUMNS)) {
    const o = objects.find((x) => x.name === table);
    if (!o || o.type !== 'table') throw new PollfleetError('input.invalid', `${file}: not a pollfleet history store (no table ${table}; it holds ${objects.map((x) => x.name).slice(0, 5).join(', ')})`);
    const have = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name));
    const missing = columns.filter((c) => !have.has(c));
    if (missing.length) throw new PollfleetError('input.invalid', `${file}: not a pollfleet history store (table ${table} has no column ${missing.join(', ')})`);
  }
}

/** One value read back, of the type the store writes (SQLite keeps whatever was written). */
function cell(v: unknown, type: 'number' | 'string', file: string, where: string, nullable = false): unknown {
  if (v === null && nullable) return null;
  if (typeof v === type && (type !== 'number' || Number.isFinite(v))) return v;
  const got = v === null ? 'null' : v instanceof Uint8Array ? 'binary data' : typeof v === 'string' ? `text ${JSON.stringify(v.slice(0, 20))}` : `${typeof v} ${String(v)}`;
  throw new PollfleetError('input.invalid', `${file}: ${where}: expected ${type === 'number' ? 'a number' : 'text'}, got ${got} (not a pollfleet history store, or a damaged one)`);
}

function toRun(r: RunRow, file: string): HistoryRun {
  const at = (column: string) => `runs row ${String(r.id)}: ${column}`;
  const num = (v: unknown, column: string, nullable = false) => cell(v, 'number', file, at(column), nullable) as number;
  const text = (v: unknown, column: string, nullable = false) => cell(v, 'string', file, at(column), nullable) as string;
  const pass = num(r.pass, 'pass');
  if (pass !== 0 && pass !== 1) throw new PollfleetError('input.invalid', `${file}: ${at('pass')}: expected 0 or 1, got ${pass}`);
  const startedAt = text(r.started_at, 'started_at');
  if (Number.isNaN(Date.parse(startedAt))) throw new PollfleetError('input.invalid', `${file}: ${at('started_at')}: expected a timestamp, got ${JSON.stringify(startedAt.slice(0, 30))}`);
  return {
    id: num(r.id, 'id'),
    scenario: text(r.scenario, 'scenario'),
    route: text(r.route, 'route'),
    startedAt,
    durationMs: num(r.duration_ms, 'duration_ms'),
    pass: pass === 1,
    coverageMin: num(r.coverage_min, 'coverage_min'),
    coverageFinal: num(r.coverage_final, 'coverage_final'),
    pickupP99: num(r.pickup_p99, 'pickup_p99', true),
    expired: num(r.expired, 'expired', true),
    reconnects: num(r.reconnects, 'reconnects'),
    resultPath: text(r.result_path, 'result_path', true),
  };
}

/** Open (or create) the store at a file path given on the command line; a failure is bad input (exit 2). */
export function openHistoryStore(file: string): HistoryStore {
  try {
    return new HistoryStore(file);
  } catch (e) {
    throw new PollfleetError('input.invalid', `--history ${file}: cannot open the history store (${(e as Error).message})`, {
      hint: 'give a writable file path, e.g. --history reports/history.sqlite',
    });
  }
}

/**
 * Append a finished run; an interrupted run is not kept (its figures cover only part of a
 * run). A failure to append is a warning on stderr: it never changes the exit code, which is
 * the verdict's. Returns the run id or null.
 */
export function appendToHistory(store: HistoryStore | null, result: Result, resultPath: string, stderr: NodeJS.WritableStream): number | null {
  if (!store) return null;
  if (result.interrupted) {
    stderr.write(`pollfleet: the run was interrupted; not added to the history in ${store.file}\n`);
    return null;
  }
  try {
    return store.append(result, resultPath);
  } catch (e) {
    stderr.write(redactText(`pollfleet: warning: could not add the run to the history in ${store.file}: ${(e as Error).message}\n`));
    return null;
  }
}
