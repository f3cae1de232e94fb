import { syntheticPayload, type OutgoingDataStream, type ReceivedDataStream } from '../halibut/data-stream.js';
import { Guid } from '../halibut/guid.js';
import {
  SCRIPT_STATE_COMPLETE,
  SCRIPT_STATE_RUNNING,
  SERVICE_CAPABILITIES_V2,
  SERVICE_SCRIPT_V2,
  TENTACLE_CAPABILITIES,
  TYPE_CAPABILITIES_RESPONSE_V2,
  TYPE_SCRIPT_STATUS_RESPONSE_V2,
  TYPE_DATA_STREAM,
  TYPE_SCRIPT_TICKET,
} from '../halibut/constants.js';
import { errorResponse, okResponse, type RequestMessage, type ResponseMessage } from '../halibut/messages.js';

/**
 * The RPC services a minimal Tentacle runs ([H] section 6): enough to pass a health check
 * and a script step. Scripts do not run anything: a script is "Running" until `scriptRunMs`
 * has passed since StartScript, then "Complete" with exit code 0 and one log line.
 *
 * Method lookup as Halibut's service side does it: the request carries the sync name
 * (`GetCapabilities`), the service appends `Async` and matches case-insensitively (so
 * `GetCapabilitiesAsync` works too). Service names match exactly. Unknown service or
 * method -> an error response; the connection stays up.
 *
 * IFileTransferService (OctopusTentacle source/Octopus.Tentacle/Services/FileTransfer/
 * FileTransferService.cs): UploadFile takes a data stream of any size. The real Tentacle
 * saves it under its home directory and answers UploadResult(FullPath, Hash, Length); this
 * one keeps **nothing on disk or in memory**: the bytes pass through a running SHA-256 as they
 * arrive (src/halibut/data-stream.ts) and the result's Hash is that SHA-256, hex (the real
 * Tentacle's hash algorithm is not confirmed here). DownloadFile answers null, as the real
 * one does for a file that does not exist, except for `synthetic/<bytes>`, which streams that
 * many deterministic bytes (syntheticPayload seeded by the path).
 */

/**
 * Halibut error type names as a real ServerError carries them: the exception type's FullName
 * (Halibut source/Halibut/Transport/Protocol/ResponseMessage.cs, ServerErrorFromException),
 * and messages the client side maps back to the same types (HalibutProxy: "Service not found: X",
 * "Service ... not found").
 */
export const ERROR_SERVICE_NOT_FOUND = 'Halibut.Exceptions.ServiceNotFoundHalibutClientException';
export const ERROR_METHOD_NOT_FOUND = 'Halibut.Exceptions.MethodNotFoundHalibutClientException';
export const ERROR_SERVICE_INVOCATION = 'Halibut.Exceptions.ServiceInvocationHalibutClientException';

export const SERVICE_FILE_TRANSFER = 'IFileTransferService';
export const TYPE_UPLOAD_RESULT = 'Octopus.Tentacle.Contracts.UploadResult, Octopus.Tentacle.Contracts';
/** Where a relative upload path lands (the simulated Tentacle home; nothing is written there). */
const HOME_DIRECTORY = '/etc/octopus/Tentacle';
const SYNTHETIC_DOWNLOAD = /^synthetic\/(\d{1,12})$/;

/** Octopus.Tentacle.Contracts.ScriptExitCodes. */
export const EXIT_CODE_CANCELED = -43;
export const EXIT_CODE_UNKNOWN_SCRIPT = -45;

/** ProcessOutputSource: 0 StdOut, 1 StdErr, 2 Debug. */
const LOG_SOURCE_STDOUT = 0;
const COMPLETED_LOG_TEXT = 'pollfleet simulated script completed';

export interface ServicesOptions {
  /** How long a started script reports Running before it completes. TENTACLE_DEFAULTS.scriptRunMs */
  scriptRunMs: number;
  /** Clock for script timing (epoch ms); injectable for unit tests. */
  clock?: () => number;
}

interface Script {
  taskId: string;
  startedAtMs: number;
  runMs: number;
  canceled: boolean;
}

/** What the simulated script body asks for: `sleep <seconds>` (or `Start-Sleep -Seconds <s>`) runs that long. */
const SLEEP_BODY = /^\s*(?:sleep|Start-Sleep\s+-Seconds)\s+(\d+(?:\.\d+)?)\s*$/im;

export function scriptRunMsOf(body: unknown, fallbackMs: number): number {
  if (typeof body !== 'string') return fallbackMs;
  const m = SLEEP_BODY.exec(body);
  return m ? Math.round(Number(m[1]) * 1000) : fallbackMs;
}

/** One upload that arrived (for tests and diagnostics). */
export interface UploadRecord {
  path: string;
  length: bigint;
  sha256: string;
}

interface Call {
  params: unknown[];
  streams: ReceivedDataStream[];
  /** Data streams to send after the response. */
  out: OutgoingDataStream[];
}

type Handler = (svc: TentacleServices, params: unknown[], call: Call) => unknown;

/** service -> lower-cased `<method>async` -> handler */
const HANDLERS: ReadonlyMap<string, ReadonlyMap<string, Handler>> = new Map([
  [SERVICE_CAPABILITIES_V2, new Map<string, Handler>([['getcapabilitiesasync', (s) => s.getCapabilities()]])],
  [
    SERVICE_SCRIPT_V2,
    new Map<string, Handler>([
      ['startscriptasync', (s, p) => s.startScript(p[0])],
      ['getstatusasync', (s, p) => s.getStatus(p[0])],
      ['cancelscriptasync', (s, p) => s.cancelScript(p[0])],
      ['completescriptasync', (s, p) => s.completeScript(p[0])],
    ]),
  ],
  [
    SERVICE_FILE_TRANSFER,
    new Map<string, Handler>([
      ['uploadfileasync', (s, p, c) => s.uploadFile(p[0], p[1], c.streams)],
      ['downloadfileasync', (s, p, c) => s.downloadFile(p[0], c.out)],
    ]),
  ],
]);

function field(o: unknown, name: string): unknown {
  return o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[name] : undefined;
}

/** The ticket's TaskId from a command (`ScriptTicket` on StartScript, `Ticket` on the others). */
function ticketOf(command: unknown): string | undefined {
  const t = field(field(command, 'ScriptTicket') ?? field(command, 'Ticket'), 'TaskId');
  return typeof t === 'string' ? t : undefined;
}

function lastLogSequence(command: unknown): bigint {
  const v = field(command, 'LastLogSequence');
  return typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : 0n;
}

/** Thrown by a handler for a malformed call; becomes a ServiceInvocation error response. */
class InvocationError extends Error {}

/** One tentacle's services; shared by all its connections (GetStatus may arrive on any node). */
export class TentacleServices {
  readonly #scriptRunMs: number;
  readonly #clock: () => number;
  #scripts: Map<string, Script> | null = null;
  #nextTask = 0;
  readonly #uploads: UploadRecord[] = [];
  /** Newest uploads kept for inspection (bounded). */
  static readonly keptUploads = 100;

  constructor(o: ServicesOptions) {
    this.#scriptRunMs = o.scriptRunMs;
    this.#clock = o.clock ?? Date.now;
  }

  /** Scripts started and not yet completed (for tests and diagnostics). */
  get activeScripts(): number {
    return this.#scripts?.size ?? 0;
  }

  /** Uploads received, newest last (at most `keptUploads`). */
  get uploads(): readonly UploadRecord[] {
    return this.#uploads;
  }

  /** Run one request; always resolves with a response that echoes the request id. */
  handle(request: RequestMessage, streams: ReceivedDataStream[] = []): ResponseMessage {
    return this.handleWithStreams(request, streams).response;
  }

  /** As handle(), with the request's received data streams in and the response's data streams out. */
  handleWithStreams(request: RequestMessage, streams: ReceivedDataStream[] = []): { response: ResponseMessage; streams: OutgoingDataStream[] } {
    const call: Call = { params: request.params, streams, out: [] };
    const methods = HANDLERS.get(request.service);
    if (!methods) {
      return { response: errorResponse(request.id, `Service not found: ${request.service}`, null, ERROR_SERVICE_NOT_FOUND), streams: [] };
    }
    const lower = request.method.toLowerCase();
    const handler = methods.get(lower.endsWith('async') ? lower : lower + 'async');
    if (!handler) {
      return { response: errorResponse(request.id, `Service ${request.service}::${request.method} not found`, null, ERROR_METHOD_NOT_FOUND), streams: [] };
    }
    try {
      return { response: okResponse(request.id, handler(this, request.params, call)), streams: call.out };
    } catch (e) {
      return { response: errorResponse(request.id, (e as Error).message, null, ERROR_SERVICE_INVOCATION), streams: [] };
    }
  }

  uploadFile(remotePath: unknown, upload: unknown, streams: ReceivedDataStream[]): unknown {
    if (typeof remotePath !== 'string') throw new InvocationError('UploadFile needs a remote path');
    const fullPath = remotePath.startsWith('/') ? remotePath : `${HOME_DIRECTORY}/${remotePath.replace(/\\/g, '/')}`;
    const id = field(upload, 'id');
    // A null upload is answered as the real Tentacle does: the path, no hash, length 0.
    if (upload === null || upload === undefined) return { $type: TYPE_UPLOAD_RESULT, FullPath: fullPath, Hash: null, Length: 0n };
    const received = id instanceof Guid ? streams.find((s) => s.id.equals(id)) : undefined;
    if (!received) throw new InvocationError('UploadFile: the data stream announced in the request did not arrive');
    this.#uploads.push({ path: fullPath, length: received.length, sha256: received.sha256 });
    if (this.#uploads.length > TentacleServices.keptUploads) this.#uploads.shift();
    return { $type: TYPE_UPLOAD_RESULT, FullPath: fullPath, Hash: received.sha256, Length: received.length };
  }

  downloadFile(remotePath: unknown, out: OutgoingDataStream[]): unknown {
    if (typeof remotePath !== 'string') throw new InvocationError('DownloadFile needs a remote path');
    const m = SYNTHETIC_DOWNLOAD.exec(remotePath);
    if (!m) return null; // the file does not exist
    const length = Number(m[1]);
    const id = Guid.random();
    out.push({ id, length, chunks: () => syntheticPayload(remotePath, length) });
    return { $type: TYPE_DATA_STREAM, id, length: BigInt(length) };
  }

  getCapabilities(): unknown {
    return { $type: TYPE_CAPABILITIES_RESPONSE_V2, SupportedCapabilities: [...TENTACLE_CAPABILITIES] };
  }

  startScript(command: unknown): unknown {
    if (command === null || typeof command !== 'object') throw new InvocationError('StartScript needs a StartScriptCommandV2');
    const taskId = field(command, 'TaskId');
    const ticket = ticketOf(command) ?? (typeof taskId === 'string' ? taskId : `ScriptTicket-${++this.#nextTask}`);
    const scripts = (this.#scripts ??= new Map());
    let script = scripts.get(ticket);
    if (!script) {
      // StartScript is idempotent per ticket (the server may retry it).
      script = { taskId: ticket, startedAtMs: this.#clock(), runMs: scriptRunMsOf(field(command, 'ScriptBody'), this.#scriptRunMs), canceled: false };
      scripts.set(ticket, script);
    }
    return this.#status(script, 0n);
  }

  getStatus(request: unknown): unknown {
    const ticket = ticketOf(request);
    if (ticket === undefined) throw new InvocationError('GetStatus needs a ScriptStatusRequestV2 with a Ticket');
    const script = this.#scripts?.get(ticket);
    if (!script) return this.#unknown(ticket, lastLogSequence(request));
    return this.#status(script, lastLogSequence(request));
  }

  cancelScript(command: unknown): unknown {
    const ticket = ticketOf(command);
    if (ticket === undefined) throw new InvocationError('CancelScript needs a CancelScriptCommandV2 with a Ticket');
    const script = this.#scripts?.get(ticket);
    if (!script) return this.#unknown(ticket, lastLogSequence(command));
    script.canceled = true;
    return this.#status(script, lastLogSequence(command));
  }

  completeScript(command: unknown): null {
    const ticket = ticketOf(command);
    if (ticket === undefined) throw new InvocationError('CompleteScript needs a CompleteScriptCommandV2 with a Ticket');
    this.#scripts?.delete(ticket);
    return null;
  }

  #status(script: Script, lastSeq: bigint): unknown {
    const done = script.canceled || this.#clock() - script.startedAtMs >= script.runMs;
    if (!done) return statusResponse(script.taskId, [], 0n, SCRIPT_STATE_RUNNING, 0);
    // One log line, sequence 0 -> NextLogSequence 1; a caller that has it gets no repeat.
    const logs = lastSeq >= 1n ? [] : [{ Source: LOG_SOURCE_STDOUT, Occurred: new Date(script.startedAtMs + script.runMs), Text: script.canceled ? 'script canceled' : COMPLETED_LOG_TEXT }];
    return statusResponse(script.taskId, logs, 1n, SCRIPT_STATE_COMPLETE, script.canceled ? EXIT_CODE_CANCELED : 0);
  }

  #unknown(ticket: string, lastSeq: bigint): unknown {
    return statusResponse(ticket, [], lastSeq, SCRIPT_STATE_COMPLETE, EXIT_CODE_UNKNOWN_SCRIPT);
  }
}

function statusResponse(taskId: string, logs: unknown[], nextLogSequence: bigint, state: number, exitCode: number): unknown {
  return {
    $type: TYPE_SCRIPT_STATUS_RESPONSE_V2,
    Ticket: { $type: TYPE_SCRIPT_TICKET, TaskId: taskId },
    Logs: logs,
    NextLogSequence: nextLogSequence,
    State: state,
    ExitCode: exitCode,
  };
}
