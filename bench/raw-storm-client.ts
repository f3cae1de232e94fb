/**
 * The soak's raw baseline clients (a child process): `sockets` mutual-TLS connections to the
 * raw server, held, and each one that closes (the server's reset) opened again at once, at most
 * `concurrency` handshakes in flight -- a reset storm with nothing of pollfleet in it.
 */
import tls from 'node:tls';

// The parent gone (killed, Ctrl-C) means nobody reads the figures: do not outlive it.
process.on('disconnect', () => process.exit(0));

interface Ask { port: number; certPem: string; keyPem: string; sockets: number; concurrency: number }

process.once('message', (m: Ask) => {
  const ctx = tls.createSecureContext({ cert: m.certPem, key: m.keyPem });
  let open = 0;
  let inFlight = 0;
  const connect = () => {
    while (open < m.sockets && inFlight < m.concurrency) {
      open++;
      inFlight++;
      let up = false;
      const s = tls.connect({ host: '127.0.0.1', port: m.port, secureContext: ctx, rejectUnauthorized: false }, () => {
        up = true;
        inFlight--;
        connect();
      });
      s.on('error', () => undefined);
      s.on('close', () => {
        open--;
        if (up) {
          setImmediate(connect);
        } else {
          inFlight--;
          setTimeout(connect, 100); // refused or failed: not a tight loop
        }
      });
      s.resume();
    }
  };
  connect();
  process.on('message', (q: { type: string }) => {
    if (q.type === 'held') process.send!({ type: 'held', open, inFlight });
  });
});
