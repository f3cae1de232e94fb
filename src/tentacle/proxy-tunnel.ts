import type * as net from 'node:net';
import { Pool, ProxyAgent, type Dispatcher } from 'undici';
import { PollfleetError } from '../core/errors.js';

/**
 * An HTTP CONNECT proxy a polling connection goes through (Tentacle.config
 * `Octopus.Server.Proxy.ProxyHost` / `ProxyPort` / `ProxyUsername` / `ProxyPassword`).
 * HTTP proxies only: Halibut opens a CONNECT tunnel, no SOCKS for polling.
 */
export interface ProxyEndpoint {
  host: string;
  port: number;
  /** Basic authentication, when the proxy wants it (sent in Proxy-Authorization only). */
  username?: string;
  /** A secret: never in a message, an event or a Result. */
  password?: string;
}

/** A response head larger than this is not a proxy answering CONNECT. */
const MAX_RESPONSE_HEAD_BYTES = 16 * 1024;

/** `host:port` of a proxy, the form errors and reports name it by (never with credentials). */
export function proxyLabel(p: Pick<ProxyEndpoint, 'host' | 'port'>): string {
  return `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
}

/** The `Proxy-Authorization` header value for Basic authentication, or null without a user name. */
export function proxyAuthorization(p: Pick<ProxyEndpoint, 'username' | 'password'>): string | null {
  if (!p.username) return null;
  return `Basic ${Buffer.from(`${p.username}:${p.password ?? ''}`, 'utf8').toString('base64')}`;
}

/**
 * The CONNECT request line and headers. Halibut's HttpProxyClient
 * (OctopusDeploy/Halibut source/Halibut/Transport/Proxy/HttpProxyClient.cs) sends
 * `CONNECT host:port` with a `Host: host:port` header, plus `Proxy-Authorization: Basic
 * base64(user:password)` only when a user name is configured; it writes HTTP/1.0 there,
 * we write HTTP/1.1 (what Squid and every corporate proxy accept for CONNECT alike).
 */
export function connectRequest(target: { host: string; port: number }, proxy: ProxyEndpoint): string {
  const authority = proxyLabel(target);
  const auth = proxyAuthorization(proxy);
  return `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`;
}

/**
 * Ask the proxy on `socket` (already connected to it) for a tunnel to `target`; resolves once
 * it answers 2xx, and the socket then carries the tunnel (bytes after the response head are
 * put back). A 407 is `proxy.auth-required`, any other status `proxy.connect-denied` (both
 * with `status`, `proxy` and `address`), no answer within `timeoutMs` `timeout.receive`.
 * Like HttpProxyClient, only the status line is read; the headers are skipped.
 */
export function openConnectTunnel(
  socket: net.Socket,
  target: { host: string; port: number; address: string },
  proxy: ProxyEndpoint,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  const label = proxyLabel(proxy);
  const data = { proxy: label, address: target.address };
  return new Promise<void>((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0);
    const done = (err: unknown, rest?: Buffer) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) {
        reject(err);
        return;
      }
      if (rest && rest.length) socket.unshift(rest);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_RESPONSE_HEAD_BYTES) {
          done(new PollfleetError('proxy.connect-denied', `the proxy ${label} answered CONNECT with more than ${MAX_RESPONSE_HEAD_BYTES} bytes and no end of headers`, data));
        }
        return;
      }
      const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      const m = /^HTTP\/\d(?:\.\d)? (\d{3})(?: (.*))?$/.exec(statusLine);
      if (!m) {
        done(new PollfleetError('proxy.connect-denied', `the proxy ${label} did not answer CONNECT with an HTTP status line (got ${JSON.stringify(statusLine.slice(0, 80))})`, data));
        return;
      }
      const status = Number(m[1]);
      const reason = (m[2] ?? '').trim();
      if (status >= 200 && status < 300) {
        // The node speaks only after the ClientHello, so nothing normally follows the head;
        // whatever does is put back for TLS (tls.connect reads what the socket buffered).
        done(null, head.subarray(end + 4));
        return;
      }
      if (status === 407) {
        done(new PollfleetError(
          'proxy.auth-required',
          `the proxy ${label} wants authentication (407${reason ? ` ${reason}` : ''}) for CONNECT to ${proxyLabel(target)}` +
            `${proxy.username ? `: it refused the credentials of user ${JSON.stringify(proxy.username)}` : ': no proxy user name is configured'}`,
          { ...data, status, hint: 'set the proxy user name and password (Octopus.Server.Proxy.ProxyUsername / ProxyPassword; route.proxy.username and passwordEnv)' },
        ));
        return;
      }
      done(new PollfleetError(
        'proxy.connect-denied',
        `the proxy ${label} refused CONNECT to ${proxyLabel(target)} (${status}${reason ? ` ${reason}` : ''})`,
        { ...data, status, hint: `allow CONNECT to port ${target.port} on the proxy (Squid: acl polling_ports port ${target.port} and http_access allow CONNECT polling_ports)` },
      ));
    };
    const onError = (e: Error) => done(e);
    const onClose = () => done(new PollfleetError('closed.by-peer', `the proxy ${label} closed the connection before answering CONNECT to ${proxyLabel(target)}`, data));
    const onAbort = () => done(new PollfleetError('internal', 'stopped while opening the proxy tunnel'));
    const timer = setTimeout(
      () => done(new PollfleetError('timeout.receive', `the proxy ${label} did not answer CONNECT to ${proxyLabel(target)} within ${timeoutMs} ms`, data)),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.write(connectRequest(target, proxy));
  });
}

/** The error for a proxy's non-2xx answer to CONNECT: `proxy.auth-required` for 407, `proxy.connect-denied` otherwise. */
export function proxyRefusal(status: number, proxy: ProxyEndpoint, target: string): PollfleetError {
  const label = proxyLabel(proxy);
  return status === 407
    ? new PollfleetError('proxy.auth-required', `the proxy ${label} wants authentication (407) for CONNECT to ${target}`, { status, proxy: label, address: target })
    : new PollfleetError('proxy.connect-denied', `the proxy ${label} refused CONNECT to ${target} (${status})`, { status, proxy: label, address: target });
}

/**
 * Registration (REST) through an HTTP proxy: undici's ProxyAgent, which tunnels with CONNECT
 * like the poller does. Its own error for a refused tunnel is a message only, so the client
 * it talks to the proxy with turns a non-200 answer into proxyRefusal's typed error (status
 * and proxy as data fields). TLS to the REST API is not verified (the embedded cluster's
 * certificate is self-signed). The password travels only in Proxy-Authorization.
 */
export function registrationProxyAgent(proxy: ProxyEndpoint, connections: number, verifyTls = false): Dispatcher {
  const auth = proxyAuthorization(proxy);
  return new ProxyAgent({
    uri: `http://${proxyLabel(proxy)}`,
    ...(auth ? { token: auth } : {}),
    connections,
    // The embedded cluster's REST API has a self-signed certificate; a real one is verified unless external.apiTlsVerify is false.
    requestTls: { rejectUnauthorized: verifyTls },
    clientFactory: (origin: URL, opts: object) => {
      const pool = new Pool(origin, opts);
      const connect = pool.connect.bind(pool) as (o: Dispatcher.ConnectOptions) => Promise<Dispatcher.ConnectData>;
      (pool as unknown as { connect: typeof connect }).connect = async (o) => {
        const r = await connect(o);
        if (r.statusCode < 200 || r.statusCode >= 300) {
          r.socket.destroy();
          throw proxyRefusal(r.statusCode, proxy, o.path);
        }
        return r;
      };
      return pool;
    },
  });
}

