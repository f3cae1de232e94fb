import { deflateRawSync, inflateRawSync, constants as zc } from 'node:zlib';
import { BSON, Binary } from 'bson';
import {
  NULL_MESSAGE_DEFLATED,
  TYPE_DATA_STREAM,
  TYPE_REQUEST_MESSAGE,
  TYPE_RESPONSE_MESSAGE,
} from './constants.js';
import { HalibutError } from './halibut-error.js';
import { Guid } from './guid.js';
import type { Message, RequestMessage, ResponseMessage, ServerError, ServiceEndPoint } from './messages.js';

/**
 * The message codec: `{ "Message": ... }` as BSON, raw DEFLATE, no length prefix.
 */

// ---------- values <-> BSON values ----------

function toBsonValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Guid) return new Binary(v.bytes, Binary.SUBTYPE_UUID);
  if (Buffer.isBuffer(v)) return new Binary(v, Binary.SUBTYPE_DEFAULT);
  if (Array.isArray(v)) return v.map(toBsonValue);
  if (v instanceof Date || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) out[k] = toBsonValue(val);
  return out;
}

/**
 * Deepest nesting accepted in a received message (Json.NET, which Halibut serialises with,
 * stops at 64 by default; a real message nests under 10). Deeper is a protocol error, not a
 * stack overflow somewhere further on.
 */
export const MAX_MESSAGE_DEPTH = 64;

function fromBsonValue(v: unknown, depth = 0): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Binary) {
    const bytes = Buffer.from(v.buffer.subarray(0, v.position));
    return v.sub_type === Binary.SUBTYPE_UUID && bytes.length === 16 ? new Guid(bytes) : bytes;
  }
  if (v instanceof Date || typeof v !== 'object') return v;
  if (depth >= MAX_MESSAGE_DEPTH) {
    throw new HalibutError('protocol.bad-message', `message nests deeper than ${MAX_MESSAGE_DEPTH} levels`);
  }
  if (Array.isArray(v)) return v.map((x) => fromBsonValue(x, depth + 1));
  // A key like `__proto__` is data here, never the object's prototype.
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    Object.defineProperty(out, k, { value: fromBsonValue(val, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

// ---------- envelopes ----------

function requestEnvelope(r: RequestMessage): Record<string, unknown> {
  return {
    Message: {
      $type: TYPE_REQUEST_MESSAGE,
      id: r.id,
      activityId: r.activityId,
      endpoint: r.endpoint,
      service: r.service,
      method: r.method,
      params: r.params,
    },
  };
}

function responseEnvelope(r: ResponseMessage): Record<string, unknown> {
  return {
    Message: {
      $type: TYPE_RESPONSE_MESSAGE,
      id: r.id,
      error: r.error
        ? { message: r.error.message, details: r.error.details, HalibutErrorType: r.error.HalibutErrorType }
        : null,
      result: r.result ?? null,
    },
  };
}

/** BSON bytes of a message envelope (before compression). */
export function messageToBson(m: Message): Buffer {
  const envelope =
    m.kind === 'null' ? { Message: null } : m.kind === 'request' ? requestEnvelope(m.request) : responseEnvelope(m.response);
  return Buffer.from(BSON.serialize(toBsonValue(envelope) as Record<string, unknown>, { ignoreUndefined: false }));
}

/** One message as it goes on the wire: raw DEFLATE of the BSON envelope. */
export function encodeMessage(m: Message): Buffer {
  if (m.kind === 'null') return NULL_MESSAGE_DEFLATED;
  return deflateRawSync(messageToBson(m), { level: 6 });
}

/** Parse the BSON of an envelope into a Message; malformed shapes are protocol errors. */
export function bsonToMessage(bson: Buffer): Message {
  let doc: Record<string, unknown>;
  try {
    doc = BSON.deserialize(bson, { useBigInt64: true, promoteBuffers: false, validation: { utf8: true } });
  } catch (e) {
    throw new HalibutError('protocol.bad-message', `message is not valid BSON: ${(e as Error).message}`, { cause: e });
  }
  if (!Object.prototype.hasOwnProperty.call(doc, 'Message')) {
    throw new HalibutError('protocol.bad-message', 'message envelope has no "Message" field');
  }
  const body = fromBsonValue(doc['Message']) as Record<string, unknown> | null;
  if (body === null) return { kind: 'null' };
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new HalibutError('protocol.bad-message', 'envelope "Message" is neither null nor an object');
  }
  const type = body['$type'];
  if (type === TYPE_REQUEST_MESSAGE) {
    const { id, activityId, endpoint, service, method, params } = body;
    if (typeof id !== 'string' || typeof service !== 'string' || typeof method !== 'string') {
      throw new HalibutError('protocol.bad-message', 'RequestMessage lacks id, service or method');
    }
    if (!endpoint || typeof endpoint !== 'object' || typeof (endpoint as ServiceEndPoint).BaseUri !== 'string') {
      throw new HalibutError('protocol.bad-message', 'RequestMessage endpoint has no BaseUri');
    }
    return {
      kind: 'request',
      request: {
        id,
        activityId: activityId instanceof Guid ? activityId : new Guid(Buffer.alloc(16)),
        endpoint: endpoint as ServiceEndPoint,
        service,
        method,
        params: Array.isArray(params) ? params : [],
      },
    };
  }
  if (type === TYPE_RESPONSE_MESSAGE) {
    const { id, error, result } = body;
    if (typeof id !== 'string') throw new HalibutError('protocol.bad-message', 'ResponseMessage has no id');
    return { kind: 'response', response: { id, error: serverError(error), result: result ?? null } };
  }
  throw new HalibutError('protocol.bad-message', `unknown message $type ${describeValue(type)}`);
}

/** A response's `error`: null, or a ServerError with string fields (whatever else the peer put there is a protocol error). */
function serverError(v: unknown): ServerError | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v) || v instanceof Guid || v instanceof Date) {
    throw new HalibutError('protocol.bad-message', `ResponseMessage error is ${describeValue(v)}, not a ServerError`);
  }
  const o = v as Record<string, unknown>;
  const text = (x: unknown): string | null => (typeof x === 'string' ? x : x === null || x === undefined ? null : describeValue(x));
  return { message: text(o['message']) ?? '', details: text(o['details']), HalibutErrorType: text(o['HalibutErrorType']) };
}

/** A short, safe description of any decoded value for an error message (a bigint or a cycle must not throw). */
function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 80));
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : Buffer.isBuffer(v) ? 'binary data' : 'an object';
}

export type InflateAttempt =
  | { done: true; bson: Buffer; consumed: number }
  | { done: false };

/**
 * Try to inflate one raw-DEFLATE stream from the front of `buf`.
 * Returns `done: false` when the stream is not complete yet (wait for more bytes); throws a
 * protocol error for garbage or when the inflated size would exceed `maxInflatedBytes`
 * (a deflate bomb ends here, not in memory growth). `consumed` is the number of compressed
 * bytes the stream used; whatever follows belongs to the next item.
 */
export function tryInflate(buf: Buffer, maxInflatedBytes: number): InflateAttempt {
  try {
    const r = inflateRawSync(buf, { info: true, maxOutputLength: maxInflatedBytes }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    return { done: true, bson: r.buffer, consumed: r.engine.bytesWritten };
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { errno?: number };
    if (err.code === 'Z_BUF_ERROR' || err.errno === zc.Z_BUF_ERROR) return { done: false };
    if (err.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HalibutError('protocol.message-too-large', `message inflates to more than ${maxInflatedBytes} bytes`, { cause: e });
    }
    throw new HalibutError('protocol.bad-message', `message is not valid raw DEFLATE: ${err.message}`, { cause: e });
  }
}

// ---------- data streams ----------

export interface DataStreamRef {
  id: Guid;
  length: bigint;
}

/** The placeholder a message carries for a data stream that follows it. */
export function dataStreamRef(id: Guid, length: number | bigint): Record<string, unknown> {
  return { $type: TYPE_DATA_STREAM, id, length: BigInt(length) };
}

/**
 * Whether a decoded object is a data-stream placeholder. Halibut serialises with
 * TypeNameHandling.Auto, so `$type` is written only where the declared type is not
 * DataStream (e.g. an element of `params`); a DataStream-typed property (a ScriptFile's
 * contents) carries just `{ id, length }`. Both shapes are accepted; any other key means
 * it is not a placeholder.
 */
function isDataStreamPlaceholder(o: Record<string, unknown>): boolean {
  const type = o['$type'];
  if (type !== undefined && type !== TYPE_DATA_STREAM) return false;
  if (!(o['id'] instanceof Guid)) return false;
  const length = o['length'];
  if (typeof length !== 'bigint' && !(typeof length === 'number' && Number.isInteger(length))) return false;
  return Object.keys(o).every((k) => k === '$type' || k === 'id' || k === 'length');
}

/** Data-stream placeholders in a decoded message, in document order. */
export function findDataStreams(value: unknown, out: DataStreamRef[] = []): DataStreamRef[] {
  if (Array.isArray(value)) {
    for (const v of value) findDataStreams(v, out);
  } else if (value && typeof value === 'object' && !(value instanceof Guid) && !Buffer.isBuffer(value) && !(value instanceof Date)) {
    const o = value as Record<string, unknown>;
    if (isDataStreamPlaceholder(o)) {
      out.push({ id: o['id'] as Guid, length: BigInt(o['length'] as bigint | number) });
    } else {
      for (const v of Object.values(o)) findDataStreams(v, out);
    }
  }
  return out;
}

/** Bytes of one data stream after a message: GUID, int64 LE length, bytes, the length again. */
export function encodeDataStream(id: Guid, data: Buffer): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigInt64LE(BigInt(data.length));
  return Buffer.concat([id.bytes, len, data, len]);
}
