import { redact } from '../core/redact.js';
import type { Result } from '../result/result.js';
import { appendToHistory, openHistoryStore, type HistoryStore } from './history-store.js';
import { checkPushgatewayUrl, pushRunMetrics } from './pushgateway.js';
import { writeReportFiles } from './report-files.js';
import { writeResultFile } from './result-file.js';

/**
 * Where a finished run goes: its folder (result.json / comparison.json and the reports), the
 * history store (which also feeds history thresholds) and a Prometheus Pushgateway. The store
 * and the URL are opened or checked before the run starts, so a bad path or URL is exit 2
 * before any traffic. After the run, a failure to append or push is a warning on stderr: it
 * never changes the exit code, which is the verdict's.
 */
export interface RunOutputs {
  history: HistoryStore | null;
  pushgateway: string | null;
  close(): void;
}

export const NO_RUN_OUTPUTS: RunOutputs = { history: null, pushgateway: null, close: () => undefined };

/** Open the store (`history`: a file path) and check the Pushgateway URL. */
export function openRunOutputs(o: { history?: string; pushgateway?: string }): RunOutputs {
  if (o.pushgateway !== undefined) checkPushgatewayUrl(o.pushgateway);
  const history = o.history !== undefined ? openHistoryStore(o.history) : null;
  return { history, pushgateway: o.pushgateway ?? null, close: () => history?.close() };
}

/**
 * Everything a judged run leaves behind, in order: result.json, the reports `format` asks
 * for, the history row, the Pushgateway push. Returns the path of result.json. Every one of
 * them is rendered from the redacted Result (core/redact.ts): no secret leaves through them.
 */
export async function publishRun(outputs: RunOutputs, dir: string, judged: Result, format: string | undefined, stderr: NodeJS.WritableStream): Promise<string> {
  const result = redact(judged);
  const resultPath = writeResultFile(dir, result);
  await writeReportFiles(dir, result, format);
  appendToHistory(outputs.history, result, resultPath, stderr);
  await pushRunMetrics(outputs.pushgateway, result, stderr);
  return resultPath;
}
