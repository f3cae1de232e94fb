import { isIP } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { now } from '../core/clock.js';
import { errorKindOf, type ErrorKind } from '../core/errors.js';
import { REGISTRATION_DEFAULTS } from '../scenario/defaults.js';

export interface PollingPortCheck {
  host: string;
  port: number;
  /** The polling address as configured; a `wss://` one is checked at the same URL with `https://`. */
  address?: string;
}

export interface PortCheckOptions extends PollingPortCheck {
  /** Must not verify TLS (the node's certificate is self-signed); an insecure Agent is made when absent. */
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

export interface PortCheckResult {
  isOpen: boolean;
  status?: number;
  durationMs: number;
  errorKind?: ErrorKind;
  message?: string;
  /** The URL checked (for error data). */
  url: string;
}

/**
 * The URL `Tentacle register-with` POSTs to: `https://host:port/handshake` for a TCP polling
 * port; for a `wss://` address the same URL with `https://` (e.g.
 * `https://host/OctopusComms`), answered by the WebSocket listener's page
 * (OctopusTentacle source/Octopus.Tentacle/Communications/OctopusServerChecker.cs).
 */
export function portCheckUrl(o: PollingPortCheck): string {
  if (o.address && /^wss:\/\//i.test(o.address)) return `https://${o.address.slice('wss://'.length)}`;
  const host = isIP(o.host) === 6 ? `[${o.host}]` : o.host;
  return `https://${host}:${o.port}/handshake`;
}

/**
 * Is the polling port open, as `Tentacle register-with` checks it? `POST` to portCheckUrl()
 * with no body and no client certificate, TLS verification off; a node answers its page
 * (HTTP 200, or 400: "the server requires a certificate", which the real check accepts too).
 */
export async function checkPollingPort(o: PortCheckOptions): Promise<PortCheckResult> {
  const t0 = now();
  const url = portCheckUrl(o);
  const own = o.dispatcher ? null : new Agent({ connect: { rejectUnauthorized: false }, pipelining: 0 });
  const timeoutMs = o.timeoutMs ?? REGISTRATION_DEFAULTS.requestTimeoutMs;
  try {
    const res = await request(url, {
      method: 'POST',
      body: '',
      dispatcher: o.dispatcher ?? own!,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      reset: true,
    });
    await res.body.dump();
    const isOpen = res.statusCode === 200 || res.statusCode === 400;
    return {
      isOpen,
      status: res.statusCode,
      durationMs: now() - t0,
      url,
      ...(isOpen ? {} : { errorKind: 'registration.failed' as const, message: `${url} answered HTTP ${res.statusCode}, expected 200 (or 400)` }),
    };
  } catch (e) {
    return { isOpen: false, durationMs: now() - t0, url, errorKind: errorKindOf(e), message: `${url}: ${(e as Error).message}` };
  } finally {
    await own?.close();
  }
}
