import {
  Guid,
  SCRIPT_STATE_COMPLETE,
  SERVICE_CAPABILITIES_V2,
  SERVICE_SCRIPT_V2,
  TYPE_COMPLETE_SCRIPT_COMMAND_V2,
  TYPE_DATA_STREAM,
  TYPE_SCRIPT_STATUS_REQUEST_V2,
  TYPE_SCRIPT_TICKET,
  TYPE_START_SCRIPT_COMMAND_V2,
  formatTimeSpan,
  syntheticPayload,
  syntheticPayloadSha256,
  type OutgoingDataStream,
} from '../../halibut/index.js';
import type { QueueOutcome } from '../work-queue.js';

/**
 * The RPC sequences a server task sends to one machine, with the real contract shapes
 * (OctopusTentacle source/Octopus.Tentacle.Contracts: ScriptServiceV2/StartScriptCommandV2,
 * ScriptStatusRequestV2, CompleteScriptCommandV2; IFileTransferService.UploadFile(string,
 * DataStream) -> UploadResult). Every request goes through `send`, which queues it on the
 * node that runs the task.
 */

export const SERVICE_FILE_TRANSFER = 'IFileTransferService';

/** .NET's Timeout.InfiniteTimeSpan (-1 ms), the script isolation mutex timeout Octopus sends. */
const INFINITE_TIMESPAN = formatTimeSpan(-1);
/** The health check's script: short; the simulated tentacle runs it for its own scriptRunMs. */
export const HEALTH_SCRIPT_BODY = 'echo hello';

export interface StepIo {
  send(subscription: string, service: string, method: string, params: unknown[], streams?: OutgoingDataStream[]): Promise<QueueOutcome>;
  /** false when the task was stopped meanwhile. */
  sleep(ms: number): Promise<boolean>;
  stopped(): boolean;
}

export interface ScriptBackoff {
  scriptStatusBackoffMinMs: number;
  scriptStatusBackoffFactor: number;
  scriptStatusBackoffMaxMs: number;
  scriptStatusMaxPolls: number;
}

/** How a step went: the outcome of its last request, or a failure the caller saw in an answer. */
export type StepResult = { ok: true; outcome: QueueOutcome } | { ok: false; outcome: QueueOutcome; message: string };

function failed(outcome: QueueOutcome, message: string): StepResult {
  return { ok: false, outcome, message };
}

/** Why a request's outcome fails the step (null: answered without an error). */
export function outcomeError(o: QueueOutcome, pollingRequestQueueTimeout: string): string | null {
  if (o.outcome === 'expired') return `the polling endpoint did not collect the request within the allowed time (${pollingRequestQueueTimeout})`;
  if (o.outcome === 'failed') return o.message;
  if (o.response.error) return `${o.response.error.HalibutErrorType ?? 'error'}: ${o.response.error.message}`;
  return null;
}

export async function getCapabilities(io: StepIo, subscription: string, timeoutText: string): Promise<StepResult> {
  const outcome = await io.send(subscription, SERVICE_CAPABILITIES_V2, 'GetCapabilities', []);
  const err = outcomeError(outcome, timeoutText);
  return err ? failed(outcome, err) : { ok: true, outcome };
}

/** StartScript -> GetStatus (caller's back-off) until Complete -> CompleteScript. */
export async function runScript(io: StepIo, subscription: string, taskId: string, body: string, b: ScriptBackoff, timeoutText: string): Promise<StepResult & { requests: number }> {
  const ticket = { $type: TYPE_SCRIPT_TICKET, TaskId: taskId };
  let requests = 1;
  let outcome = await io.send(subscription, SERVICE_SCRIPT_V2, 'StartScript', [
    {
      $type: TYPE_START_SCRIPT_COMMAND_V2,
      ScriptBody: body,
      Isolation: 0,
      ScriptIsolationMutexTimeout: INFINITE_TIMESPAN,
      IsolationMutexName: 'RunningScript',
      Arguments: [],
      TaskId: taskId,
      ScriptTicket: ticket,
      DurationToWaitForScriptToFinish: null,
      Scripts: {},
      Files: [],
    },
  ]);
  let status = statusOf(outcome);
  let delayMs = b.scriptStatusBackoffMinMs;
  for (let polls = 0; status && status.state !== SCRIPT_STATE_COMPLETE; polls++) {
    if (polls >= b.scriptStatusMaxPolls) return { ...failed(outcome, `the script was not complete after ${polls} GetStatus calls`), requests };
    if (!(await io.sleep(delayMs))) return { ...failed(outcome, 'the task was canceled'), requests };
    delayMs = Math.min(b.scriptStatusBackoffMaxMs, delayMs * b.scriptStatusBackoffFactor);
    requests++;
    outcome = await io.send(subscription, SERVICE_SCRIPT_V2, 'GetStatus', [
      { $type: TYPE_SCRIPT_STATUS_REQUEST_V2, Ticket: ticket, LastLogSequence: status.nextLogSequence },
    ]);
    status = statusOf(outcome);
  }
  if (!status) return { ...failed(outcome, outcomeError(outcome, timeoutText) ?? 'the script status could not be read'), requests };
  if (io.stopped()) return { ...failed(outcome, 'the task was canceled'), requests };
  requests++;
  outcome = await io.send(subscription, SERVICE_SCRIPT_V2, 'CompleteScript', [
    { $type: TYPE_COMPLETE_SCRIPT_COMMAND_V2, Ticket: ticket, LastLogSequence: status.nextLogSequence },
  ]);
  const err = outcomeError(outcome, timeoutText);
  if (err) return { ...failed(outcome, err), requests };
  if (status.exitCode !== 0) return { ...failed(outcome, `the script exited with code ${status.exitCode}`), requests };
  return { ok: true, outcome, requests };
}

/** The seed of a synthetic package: one per size, so its expected hash is computed once. */
function packageSeed(bytes: number): string {
  return `package-${bytes}`;
}

/** IFileTransferService.UploadFile with a data stream of `bytes` deterministic bytes; the answer's Hash must match. */
export async function uploadPackage(io: StepIo, subscription: string, taskId: string, bytes: number, timeoutText: string): Promise<StepResult> {
  const id = Guid.random();
  const seed = packageSeed(bytes);
  const outcome = await io.send(
    subscription,
    SERVICE_FILE_TRANSFER,
    'UploadFile',
    [`Files/${taskId}.nupkg`, { $type: TYPE_DATA_STREAM, id, length: BigInt(bytes) }],
    [{ id, length: bytes, chunks: () => syntheticPayload(seed, bytes) }],
  );
  const err = outcomeError(outcome, timeoutText);
  if (err) return failed(outcome, err);
  const r = (outcome as Extract<QueueOutcome, { outcome: 'answered' }>).response.result as { Hash?: unknown; Length?: unknown } | null;
  const length = r && (typeof r.Length === 'bigint' || typeof r.Length === 'number') ? BigInt(r.Length) : null;
  if (length !== BigInt(bytes)) return failed(outcome, `the tentacle stored ${length ?? 'no'} bytes of ${bytes}`);
  if (r?.Hash !== syntheticPayloadSha256(seed, bytes)) return failed(outcome, 'the uploaded package arrived with a different hash');
  return { ok: true, outcome };
}

/** The script state, exit code and log position of an answered StartScript / GetStatus, or null when it failed. */
function statusOf(o: QueueOutcome): { state: number; exitCode: number; nextLogSequence: bigint } | null {
  if (o.outcome !== 'answered' || o.response.error) return null;
  const r = o.response.result as { State?: unknown; NextLogSequence?: unknown; ExitCode?: unknown } | null;
  if (!r || typeof r !== 'object' || typeof r.State !== 'number') return null;
  const seq = r.NextLogSequence;
  const nextLogSequence = typeof seq === 'bigint' ? seq : typeof seq === 'number' ? BigInt(Math.trunc(seq)) : 0n;
  return { state: r.State, exitCode: typeof r.ExitCode === 'number' ? r.ExitCode : 0, nextLogSequence };
}
