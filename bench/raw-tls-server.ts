/**
 * The raw baseline's server (a child process of the bench and of the soak): a bare `node:tls`
 * server that asks for a client certificate (mutual TLS, RSA-2048 as pollfleet's nodes) and
 * holds every connection open, nothing else. Talks to its parent over IPC: `listening` with its
 * port, `rss` on request (after a GC when run with --expose-gc; with its V8 heap and the sockets
 * it holds), and `reset`: every connection reset at once, as the soak's reset fault does to a
 * node (the raw TCP socket, so the peer sees an RST).
 */
import type net from 'node:net';
import tls from 'node:tls';

// The parent gone (killed, Ctrl-C) means nobody reads the figures: do not outlive it.
process.on('disconnect', () => process.exit(0));

const sockets = new Set<tls.TLSSocket>();
const raw = new Set<net.Socket>();
process.once('message', (m: { certPem: string; keyPem: string }) => {
  const server = tls.createServer({ cert: m.certPem, key: m.keyPem, requestCert: true, rejectUnauthorized: false }, (s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connection', (r: net.Socket) => {
    raw.add(r);
    r.on('close', () => raw.delete(r));
  });
  server.on('tlsClientError', (_e, s) => s.destroy());
  server.listen(0, '127.0.0.1', () => process.send!({ type: 'listening', port: (server.address() as { port: number }).port }));
  process.on('message', (q: { type: string }) => {
    if (q.type === 'reset') {
      for (const r of raw) r.resetAndDestroy();
      return;
    }
    if (q.type !== 'rss') return;
    (globalThis as { gc?: () => void }).gc?.();
    const u = process.memoryUsage();
    process.send!({ type: 'rss', rss: u.rss, heapTotal: u.heapTotal, sockets: sockets.size });
  });
});
