/**
 * Every protocol byte and name pollfleet puts on the wire, in one place.
 * Source: the polling protocol reference (Halibut), sections 2, 3 and 6.
 */

/** Preamble a Windows Tentacle sends (pollfleet's tentacle sends this form). */
export const PREAMBLE_CRLF = Buffer.from('MX\r\n\r\n', 'latin1');
/** Preamble a Linux Tentacle sends; a node must accept both. */
export const PREAMBLE_LF = Buffer.from('MX\n\n', 'latin1');
export const PREAMBLE_MAGIC = 'MX';
/** The node reads at most this many characters looking for the end of the preamble. */
export const PREAMBLE_MAX_CHARS = 20_000;

export const IDENTITY_SUBSCRIBER = 'MX-SUBSCRIBER';
export const IDENTITY_SERVER = 'MX-SERVER';
export const IDENTITY_CLIENT = 'MX-CLIENT';
export type IdentityKind = typeof IDENTITY_SUBSCRIBER | typeof IDENTITY_SERVER | typeof IDENTITY_CLIENT;
/** Sent, never checked by either side (there is no version negotiation). */
export const PROTOCOL_VERSION = '1.0';

export const CRLF = '\r\n';
export const CONTROL_NEXT = 'NEXT';
export const CONTROL_PROCEED = 'PROCEED';
export const CONTROL_END = 'END';
export const NEXT_LINE = Buffer.from('NEXT\r\n', 'latin1');
export const PROCEED_LINE = Buffer.from('PROCEED\r\n', 'latin1');
export const END_LINE = Buffer.from('END\r\n', 'latin1');

export const TYPE_REQUEST_MESSAGE = 'Halibut.Transport.Protocol.RequestMessage, Halibut';
export const TYPE_RESPONSE_MESSAGE = 'Halibut.Transport.Protocol.ResponseMessage, Halibut';
/** Data stream placeholders inside a message. */
export const TYPE_DATA_STREAM = 'Halibut.DataStream, Halibut';

/** The "nothing to do" message: BSON of `{ Message: null }` ... */
export const NULL_MESSAGE_BSON = Buffer.from('0E000000' + '0A4D65737361676500' + '00', 'hex');
/** ... raw-deflated at zlib level 6, as the reference gives it (16 bytes). */
export const NULL_MESSAGE_DEFLATED = Buffer.from('E3636060E0F24D2D2E4E4C4F65600000', 'hex');

/** Subscription ids: poll:// + 20 chars of this alphabet (no I, no O), lower-cased, + '/'. */
export const SUBSCRIPTION_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const SUBSCRIPTION_LENGTH = 20;

/** The page a node answers to anything that is not `MX` (a browser, `POST /handshake`, `HELLO`). */
export const HANDSHAKE_PAGE_HTML =
  '<html><head><title>Octopus Server</title></head><body><p>Octopus Server configured successfully</p>' +
  '<p>If you can view this page, your Octopus Server is configured and ready to accept deployment commands.</p></body></html>';

export function handshakePageResponse(): Buffer {
  const body = Buffer.from(HANDSHAKE_PAGE_HTML, 'utf8');
  const head = `HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** Capabilities a minimal Tentacle reports (reference section 6). */
export const TENTACLE_CAPABILITIES = ['IScriptService', 'IFileTransferService', 'IScriptServiceV2'] as const;
export const TYPE_CAPABILITIES_RESPONSE_V2 =
  'Octopus.Tentacle.Contracts.Capabilities.CapabilitiesResponseV2, Octopus.Tentacle.Contracts';
export const TYPE_SCRIPT_STATUS_RESPONSE_V2 =
  'Octopus.Tentacle.Contracts.ScriptServiceV2.ScriptStatusResponseV2, Octopus.Tentacle.Contracts';
export const TYPE_START_SCRIPT_COMMAND_V2 =
  'Octopus.Tentacle.Contracts.ScriptServiceV2.StartScriptCommandV2, Octopus.Tentacle.Contracts';
export const TYPE_SCRIPT_STATUS_REQUEST_V2 =
  'Octopus.Tentacle.Contracts.ScriptServiceV2.ScriptStatusRequestV2, Octopus.Tentacle.Contracts';
export const TYPE_COMPLETE_SCRIPT_COMMAND_V2 =
  'Octopus.Tentacle.Contracts.ScriptServiceV2.CompleteScriptCommandV2, Octopus.Tentacle.Contracts';
export const TYPE_SCRIPT_TICKET = 'Octopus.Tentacle.Contracts.ScriptTicket, Octopus.Tentacle.Contracts';
export const SERVICE_CAPABILITIES_V2 = 'ICapabilitiesServiceV2';
export const SERVICE_SCRIPT_V2 = 'IScriptServiceV2';

export const SCRIPT_STATE_PENDING = 0;
export const SCRIPT_STATE_RUNNING = 1;
export const SCRIPT_STATE_COMPLETE = 2;
