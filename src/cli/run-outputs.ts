import { PollfleetError, describeError } from '../core/errors.js';
import { HistoryStore } from '../outputs/history-store.js';
import { pushMetrics, pushgatewayUrl } from '../outputs/pushgateway.js';
import { renderPrometheus } from '../report/render-prometheus.js';
import type { MeasuredResult, Result } from '../result/result.js';
import { CHECK_DEFAULTS } from '../scenario/defaults.js';
import type { Scenario } from '../scenario/resolve.js';
import { judge, thresholdsFor } from '../verdict/judge.js';
import { historyLookup, historyThresholds, historyWindow } from '../verdict/history-thresholds.js';
import { parseThresholds } from '../verdict/threshold-parser.js';

/**
 * Where a finished run goes besides its folder: the history store (which also feeds
 * history thresholds) and a Prometheus Pushgateway. Both are opened or checked before the
 * run starts, so a bad path or URL is exit 2 before any traffic. After the run, a failure to
 * append or push is a warning on stderr: it never changes the exit code, which is the verdict's.
 */
export interface RunOutputs {
  history: HistoryStore | null;
  pushgateway: string | null;
  close(): void;
}

export const NO_RUN_OUTPUTS: RunOutputs = { history: null, pushgateway: null, close: () => undefined };

/** Open the store (`history`: a file path) and check the Pushgateway URL. */
export function openRunOutputs(o: { history?: string; pushgateway?: string }): RunOutputs {
  if (o.pushgateway !== undefined) pushgatewayUrl(o.pushgateway, 'pollfleet', 'check');
  let history: HistoryStore | null = null;
  if (o.history !== undefined) {
    try {
      history = new HistoryStore(o.history);
    } catch (e) {
      throw new PollfleetError('input.invalid', `--history ${o.history}: cannot open the history store (${(e as Error).message})`, {
        hint: 'give a writable file path, e.g. --history reports/history.sqlite',
      });
    }
  }
  return { history, pushgateway: o.pushgateway ?? null, close: () => history?.close() };
}

/**
 * Judge a measured run once: the scenario's and the command line's thresholds, with history
 * references fed from the store (previous runs of the same scenario and route). Without a
 * store, a history reference has nothing to compare with and passes.
 */
export function judgeRun(measured: MeasuredResult, s: Scenario, extra: string[], store: HistoryStore | null): Result {
  const window = store ? historyWindow(parseThresholds(thresholdsFor(s, extra))) : 0;
  if (!store || window === 0) return judge(measured, s, extra);
  return judge(measured, s, extra, { history: historyLookup(store, measured.name, measured.route, window) });
}

/** Append the run; an interrupted run is not kept (its figures cover only part of a run). Returns the run id or null. */
export function appendToHistory(store: HistoryStore | null, result: Result, resultPath: string, stderr: NodeJS.WritableStream): number | null {
  if (!store) return null;
  if (result.interrupted) {
    stderr.write(`pollfleet: the run was interrupted; not added to the history in ${store.file}\n`);
    return null;
  }
  try {
    return store.append(result, resultPath);
  } catch (e) {
    stderr.write(`pollfleet: warning: could not add the run to the history in ${store.file}: ${(e as Error).message}\n`);
    return null;
  }
}

/** Push the run's metrics.prom under instance = scenario name. Returns whether it was pushed; a failure is a warning on stderr. */
export async function pushRunMetrics(url: string | null, result: Result, stderr: NodeJS.WritableStream): Promise<boolean> {
  if (url === null) return false;
  try {
    await pushMetrics({ url, instance: result.name, body: renderPrometheus(result), timeoutMs: CHECK_DEFAULTS.pushgatewayTimeoutMs });
    return true;
  } catch (e) {
    const why = e instanceof PollfleetError ? describeError(e) : (e as Error).message;
    stderr.write(`pollfleet: warning: ${why} (the exit code is unchanged)\n`);
    return false;
  }
}

/** `run` without --history: say once that history thresholds have nothing to compare with (they pass). */
export function noteHistoryWithoutStore(stderr: NodeJS.WritableStream, scenarios: readonly Scenario[], extra: string[]): void {
  const uses = scenarios.flatMap((s) => historyThresholds(thresholdsFor(s, extra)).map((t) => t.expression));
  if (uses.length === 0) return;
  const listed = [...new Set(uses)];
  stderr.write(`pollfleet: note: ${listed.map((e) => `'${e}'`).join(', ')} ${listed.length === 1 ? 'compares' : 'compare'} with earlier runs, but no --history store was given: ${listed.length === 1 ? 'it passes' : 'they pass'}\n`);
}
