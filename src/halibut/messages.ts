import { Guid } from './guid.js';
import { formatTimeSpan } from './timespan.js';

/**
 * The message types of the polling protocol with the field names, order and `$type`
 * strings of the reference (section 3). Objects are built in wire order: BSON keeps the
 * insertion order of keys, so the order here is the order on the wire.
 *
 * Values: `Guid` -> BSON binary subtype 4; `bigint` -> int64 (.NET long); integer
 * `number` -> int32; `Buffer` -> binary; TimeSpans are strings made by formatTimeSpan.
 */

/** The field order of ServiceEndPoint is *unconfirmed* in the reference; this is the order it lists. */
export interface ServiceEndPoint {
  BaseUri: string;
  RemoteThumbprint: string | null;
  PollingRequestQueueTimeout: string;
  RetryListeningSleepInterval: string;
  RetryCountLimit: number;
  ConnectionErrorRetryTimeout: string;
  TcpClientConnectTimeout: string;
  Proxy: null;
  ForceResolveHost: null;
}

export interface RequestMessage {
  id: string;
  activityId: Guid;
  endpoint: ServiceEndPoint;
  service: string;
  method: string;
  params: unknown[];
}

export interface ServerError {
  message: string;
  details: string | null;
  HalibutErrorType: string | null;
}

export interface ResponseMessage {
  id: string;
  error: ServerError | null;
  result: unknown;
}

/** What one decoded message item is. */
export type Message =
  | { kind: 'null' }
  | { kind: 'request'; request: RequestMessage }
  | { kind: 'response'; response: ResponseMessage };

export interface EndpointTimeouts {
  pollingRequestQueueTimeoutMs: number;
  retryListeningSleepIntervalMs: number;
  retryCountLimit: number;
  connectionErrorRetryTimeoutMs: number;
  tcpClientConnectTimeoutMs: number;
}

export function serviceEndPoint(baseUri: string, remoteThumbprint: string | null, t: EndpointTimeouts): ServiceEndPoint {
  return {
    BaseUri: baseUri,
    RemoteThumbprint: remoteThumbprint,
    PollingRequestQueueTimeout: formatTimeSpan(t.pollingRequestQueueTimeoutMs),
    RetryListeningSleepInterval: formatTimeSpan(t.retryListeningSleepIntervalMs),
    RetryCountLimit: t.retryCountLimit,
    ConnectionErrorRetryTimeout: formatTimeSpan(t.connectionErrorRetryTimeoutMs),
    TcpClientConnectTimeout: formatTimeSpan(t.tcpClientConnectTimeoutMs),
    Proxy: null,
    ForceResolveHost: null,
  };
}

/** Request ids look like `ICapabilitiesServiceV2::GetCapabilitiesAsync[1] / <guid>`. */
export function requestId(service: string, method: string, sequence: number, activity: Guid = Guid.random()): string {
  return `${service}::${method}Async[${sequence}] / ${activity.toString()}`;
}

export function okResponse(id: string, result: unknown): ResponseMessage {
  return { id, error: null, result };
}

export function errorResponse(id: string, message: string, details: string | null = null, type: string | null = null): ResponseMessage {
  return { id, error: { message, details, HalibutErrorType: type }, result: null };
}
