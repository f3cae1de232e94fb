import {
  SCRIPT_STATE_COMPLETE,
  SCRIPT_STATE_RUNNING,
  SERVICE_CAPABILITIES_V2,
  SERVICE_SCRIPT_V2,
  TENTACLE_CAPABILITIES,
  TYPE_CAPABILITIES_RESPONSE_V2,
  TYPE_SCRIPT_STATUS_RESPONSE_V2,
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
 */

/** Halibut error type names (Halibut.Exceptions). */
export const ERROR_SERVICE_NOT_FOUND = 'ServiceNotFoundHalibutClientException';
export const ERROR_METHOD_NOT_FOUND = 'MethodNotFoundHalibutClientException';
export const ERROR_SERVICE_INVOCATION = 'ServiceInvocationHalibutClientException';

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
  canceled: boolean;
}

type Handler = (svc: TentacleServices, params: unknown[]) => unknown;

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

  constructor(o: ServicesOptions) {
    this.#scriptRunMs = o.scriptRunMs;
    this.#clock = o.clock ?? Date.now;
  }

  /** Scripts started and not yet completed (for tests and diagnostics). */
  get activeScripts(): number {
    return this.#scripts?.size ?? 0;
  }

  /** Run one request; always resolves with a response that echoes the request id. */
  handle(request: RequestMessage): ResponseMessage {
    const methods = HANDLERS.get(request.service);
    if (!methods) {
      return errorResponse(request.id, `Service not found: ${request.service}`, null, ERROR_SERVICE_NOT_FOUND);
    }
    const lower = request.method.toLowerCase();
    const handler = methods.get(lower.endsWith('async') ? lower : lower + 'async');
    if (!handler) {
      return errorResponse(
        request.id,
        `Service ${request.service} has no method ${request.method}`,
        null,
        ERROR_METHOD_NOT_FOUND,
      );
    }
    try {
      return okResponse(request.id, handler(this, request.params));
    } catch (e) {
      return errorResponse(request.id, (e as Error).message, null, ERROR_SERVICE_INVOCATION);
    }
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
      script = { taskId: ticket, startedAtMs: this.#clock(), canceled: false };
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
    const done = script.canceled || this.#clock() - script.startedAtMs >= this.#scriptRunMs;
    if (!done) return statusResponse(script.taskId, [], 0n, SCRIPT_STATE_RUNNING, 0);
    // One log line, sequence 0 -> NextLogSequence 1; a caller that has it gets no repeat.
    const logs = lastSeq >= 1n ? [] : [{ Source: LOG_SOURCE_STDOUT, Occurred: new Date(script.startedAtMs + this.#scriptRunMs), Text: script.canceled ? 'script canceled' : COMPLETED_LOG_TEXT }];
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
