import Database from 'better-sqlite3';
import Table from 'cli-table3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Result } from '../result/result.js';
import { formatMs, formatPct, formatTimestamp, NOT_MEASURED } from '../core/format.js';

/**
 * Run history: each run's summary appended to a local SQLite file (WAL mode, so a
 * scheduled check can append while someone reads it), for trends and regressions.
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

export interface Regression {
  run: HistoryRun;
  reasons: string[];
}

/** How many previous runs the pickup baseline uses, and how much worse counts as a regression. */
export const REGRESSION_WINDOW_RUNS = 10;
export const REGRESSION_PICKUP_FACTOR = 2;

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

export class HistoryStore {
  readonly file: string;
  readonly #db: Database.Database;

  constructor(file: string) {
    this.file = file;
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.exec(SCHEMA);
  }

  /** Append one run and its nodes; returns the run id. */
  append(result: Result, resultPath: string | null = null): number {
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
    return (this.#db.prepare(sql).all(params) as RunRow[]).map(toRun);
  }

  nodeRuns(runId: number): HistoryNodeRun[] {
    const rows = this.#db.prepare('SELECT * FROM node_runs WHERE run_id = ? ORDER BY node').all(runId) as Array<{
      run_id: number; node: string; connected: number | null; pickup_p99: number | null; expired: number | null; coverage_min: number;
    }>;
    return rows.map((r) => ({ runId: r.run_id, node: r.node, connected: r.connected, pickupP99: r.pickup_p99, expired: r.expired, coverageMin: r.coverage_min }));
  }

  /** Previous values of a run-level figure for history thresholds (`2 x median(last 10)`), oldest first. */
  previousValues(scenario: string, route: string, column: 'pickup_p99' | 'coverage_min' | 'coverage_final' | 'expired' | 'reconnects', last: number): number[] {
    const rows = this.#db
      .prepare(`SELECT v FROM (SELECT ${column} AS v, started_at, id FROM runs WHERE scenario = ? AND route = ? AND ${column} IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT ?) ORDER BY started_at ASC, id ASC`)
      .all(scenario, route, last) as Array<{ v: number }>;
    return rows.map((r) => r.v);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

function toRun(r: RunRow): HistoryRun {
  return {
    id: r.id,
    scenario: r.scenario,
    route: r.route,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    pass: r.pass === 1,
    coverageMin: r.coverage_min,
    coverageFinal: r.coverage_final,
    pickupP99: r.pickup_p99,
    expired: r.expired,
    reconnects: r.reconnects,
    resultPath: r.result_path,
  };
}

/**
 * Flag runs that got worse than the runs before them (same scenario and route):
 * pickup p99 above 2x the median of the previous up to 10 runs, coverage.min below the
 * lowest previous coverage.min, or a verdict that turned from pass to fail.
 * `runs` oldest first (as list() returns them).
 */
export function regressions(runs: readonly HistoryRun[]): Regression[] {
  const out: Regression[] = [];
  const byKey = new Map<string, HistoryRun[]>();
  for (const run of runs) {
    const key = `${run.scenario}\u0000${run.route}`;
    const previous = byKey.get(key) ?? [];
    const reasons: string[] = [];
    const window = previous.slice(-REGRESSION_WINDOW_RUNS);
    const p99s = window.map((r) => r.pickupP99).filter((v): v is number => v !== null);
    if (run.pickupP99 !== null && p99s.length > 0) {
      const baseline = median(p99s);
      if (run.pickupP99 > REGRESSION_PICKUP_FACTOR * baseline) {
        reasons.push(`pickup p99 ${formatMs(run.pickupP99)} is more than ${REGRESSION_PICKUP_FACTOR}x the median of the previous ${p99s.length} runs (${formatMs(baseline)})`);
      }
    }
    if (previous.length > 0) {
      const lowest = Math.min(...previous.map((r) => r.coverageMin));
      if (run.coverageMin < lowest) reasons.push(`coverage.min ${formatPct(run.coverageMin)} dropped below the previous lowest ${formatPct(lowest)}`);
      const before = previous[previous.length - 1]!;
      if (before.pass && !run.pass) reasons.push(`the verdict turned from pass to fail (previous run ${formatTimestamp(before.startedAt)})`);
    }
    if (reasons.length) out.push({ run, reasons });
    previous.push(run);
    byKey.set(key, previous);
  }
  return out;
}

/** Plain-text table of runs, regressions marked with '!'. */
export function renderHistoryTable(runs: readonly HistoryRun[], options: { regressions?: readonly Regression[] } = {}): string {
  if (runs.length === 0) return 'No runs recorded yet.\n';
  const flagged = new Set((options.regressions ?? regressions(runs)).map((r) => r.run.id));
  const table = new Table({
    head: ['#', 'Started', 'Scenario', 'Route', 'Verdict', 'Coverage min', 'Coverage final', 'Pickup p99', 'Expired', 'Reconnects', ''],
    style: { head: [], border: [] },
    colAligns: ['right', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'left'],
  });
  for (const r of runs) {
    table.push([
      String(r.id),
      formatTimestamp(r.startedAt),
      r.scenario,
      r.route,
      r.pass ? 'PASS' : 'FAIL',
      formatPct(r.coverageMin),
      formatPct(r.coverageFinal),
      formatMs(r.pickupP99),
      r.expired === null ? NOT_MEASURED : String(r.expired),
      String(r.reconnects),
      flagged.has(r.id) ? '! regression' : '',
    ]);
  }
  return `${table.toString()}\n`;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
