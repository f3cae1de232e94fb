/**
 * Real TLS on loopback for tests: generated certificates (cached per process), a TLS server
 * on 127.0.0.1 with an OS-chosen port, and a connected server/client socket pair set up the
 * way a node and a polling tentacle set theirs up (the node asks for a client certificate
 * but accepts any; the tentacle presents its certificate and ignores chain and host name).
 *
 *   const pair = await createTlsPair();
 *   ... use pair.server / pair.client ...
 *   await pair.close();
 */
import { once } from 'node:events';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { generateCertificate, generateKeyPair, type CertificateIdentity } from '../../src/pki/certificate.js';
import { withTimeout } from './wait.js';

export interface TestCertificates {
  /** The node's certificate (`CN=Octopus Portal`). */
  node: CertificateIdentity;
  /** The tentacle's certificate (`CN=Octopus Tentacle`). */
  tentacle: CertificateIdentity;
  /** A third certificate nobody trusts. */
  stranger: CertificateIdentity;
}

let certificates: Promise<TestCertificates> | null = null;

/** Three certificates sharing one RSA-2048 key pair (one key generation per test process). */
export function getTestCertificates(): Promise<TestCertificates> {
  certificates ??= (async () => {
    const keys = await generateKeyPair();
    return {
      node: await generateCertificate({ commonName: 'Octopus Portal', keys }),
      tentacle: await generateCertificate({ commonName: 'Octopus Tentacle', keys }),
      stranger: await generateCertificate({ commonName: 'Stranger', keys }),
    };
  })();
  return certificates;
}

export interface TlsTestServer {
  port: number;
  server: tls.Server;
  /** Every accepted socket, so close() can destroy the ones still open. */
  sockets: Set<tls.TLSSocket>;
  close(): Promise<void>;
}

export interface TlsServerOptions {
  /** Server certificate; the node's by default. */
  identity?: CertificateIdentity;
}

/** A TLS server on 127.0.0.1:0 that calls `onSocket` for each secured connection. */
export async function startTlsServer(onSocket: (socket: tls.TLSSocket) => void, o: TlsServerOptions = {}): Promise<TlsTestServer> {
  const identity = o.identity ?? (await getTestCertificates()).node;
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer(
    { cert: identity.certPem, key: identity.keyPem, requestCert: true, rejectUnauthorized: false },
    (socket) => {
      sockets.add(socket);
      socket.on('error', () => {}); // resets are expected in tests that close abruptly
      socket.once('close', () => sockets.delete(socket));
      onSocket(socket);
    },
  );
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    server,
    sockets,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface TlsConnectOptions {
  /** 127.0.0.1 by default. */
  host?: string;
  /** Client certificate to present; none by default (null or absent). */
  identity?: CertificateIdentity | null;
  /** Further node:tls options (e.g. a raw cert/key pair, ALPN). */
  tls?: tls.ConnectionOptions;
  timeoutMs?: number;
}

/**
 * The one TLS client for tests: connects to `host`:`port` (loopback), accepts any server
 * certificate and host name, and resolves once the handshake is done. Errors after the
 * handshake are left to the test's own listeners (a no-op one keeps them from crashing the
 * process); a handshake that does not finish in time destroys the socket and rejects.
 */
export async function connectTls(port: number, o: TlsConnectOptions = {}): Promise<tls.TLSSocket> {
  const host = o.host ?? '127.0.0.1';
  const socket = tls.connect({
    host,
    port,
    ...(o.identity ? { cert: o.identity.certPem, key: o.identity.keyPem } : {}),
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
    ...o.tls,
  });
  socket.on('error', () => {});
  const ms = o.timeoutMs ?? 10_000;
  try {
    await withTimeout(once(socket, 'secureConnect'), ms, `the TLS handshake with ${host}:${port}`);
  } catch (e) {
    socket.destroy();
    throw e;
  }
  return socket;
}

export interface TlsPair {
  port: number;
  /** The accepting end (plays the node). */
  server: tls.TLSSocket;
  /** The connecting end (plays the tentacle). */
  client: tls.TLSSocket;
  close(): Promise<void>;
}

/** One connected, secured socket pair over loopback (the client presents the tentacle's certificate unless told otherwise). Both ends start paused: attach readers first. */
export async function createTlsPair(o: TlsConnectOptions = {}): Promise<TlsPair> {
  let resolveServer!: (s: tls.TLSSocket) => void;
  const accepted = new Promise<tls.TLSSocket>((resolve) => (resolveServer = resolve));
  const srv = await startTlsServer((s) => resolveServer(s));
  const identity = o.identity === undefined ? (await getTestCertificates()).tentacle : o.identity;
  const client = await connectTls(srv.port, { ...o, identity });
  const server = await withTimeout(accepted, o.timeoutMs ?? 10_000, 'the TLS handshake (server side)');
  return {
    port: srv.port,
    server,
    client,
    async close() {
      client.destroy();
      await srv.close();
    },
  };
}
