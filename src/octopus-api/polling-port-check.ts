import { isIP } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { now } from '../core/clock.js';
import { errorKindOf, type ErrorKind } from '../core/errors.js';
import { REGISTRATION_DEFAULTS } from '../scenario/defaults.js';

export interface PollingPortCheck {
  host: string;
  port: number;
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
 * Is the polling port open, as `Tentacle register-with` checks it? `POST
 * https://host:port/handshake` with no body and no client certificate, TLS verification
 * off; a node answers its handshake page (HTTP 200, or 400).
 */
export async function checkPollingPort(o: PortCheckOptions): Promise<PortCheckResult> {
  const t0 = now();
  const host = isIP(o.host) === 6 ? `[${o.host}]` : o.host;
  const url = `https://${host}:${o.port}/handshake`;
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
