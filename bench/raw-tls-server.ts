/**
 * The raw baseline's server (a child process of the bench): a bare `node:tls` server that
 * asks for a client certificate (mutual TLS, RSA-2048 as pollfleet's nodes) and holds every
 * connection open, nothing else. Talks to the bench over IPC: `listening` with its port,
 * `rss` on request (after a GC when run with --expose-gc).
 */
import tls from 'node:tls';

const sockets = new Set<tls.TLSSocket>();
process.once('message', (m: { certPem: string; keyPem: string }) => {
  const server = tls.createServer({ cert: m.certPem, key: m.keyPem, requestCert: true, rejectUnauthorized: false }, (s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1', () => process.send!({ type: 'listening', port: (server.address() as { port: number }).port }));
  process.on('message', (q: { type: string }) => {
    if (q.type !== 'rss') return;
    (globalThis as { gc?: () => void }).gc?.();
    process.send!({ type: 'rss', rss: process.memoryUsage().rss, sockets: sockets.size });
  });
});
