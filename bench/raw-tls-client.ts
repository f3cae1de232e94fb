/**
 * The raw baseline's clients (a child process of the bench, like the server): `sockets`
 * mutual-TLS connections to the raw server, `concurrency` handshakes in flight, all held open;
 * replies with the handshake rate and its own RSS growth per socket (after a GC: run with
 * --expose-gc). In its own process so that the bench's process, where the fleet then runs,
 * starts fresh: memory the raw sockets used and the allocator kept would otherwise be reused
 * by the fleet and hide part of its cost.
 */
import tls from 'node:tls';

// The parent gone (killed, Ctrl-C) means nobody reads the figures: do not outlive it.
process.on('disconnect', () => process.exit(0));

interface Ask { port: number; certPem: string; keyPem: string; sockets: number; concurrency: number }

function gcRss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

process.once('message', async (m: Ask) => {
  const ctx = tls.createSecureContext({ cert: m.certPem, key: m.keyPem });
  const held: tls.TLSSocket[] = [];
  const rss0 = gcRss();
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < m.sockets) {
      next++;
      await new Promise<void>((resolve, reject) => {
        // The thumbprint is pinned by the caller in pollfleet; here the check is skipped, as its cost is a hash.
        const s = tls.connect({ host: '127.0.0.1', port: m.port, secureContext: ctx, rejectUnauthorized: false }, () => resolve());
        s.once('error', reject);
        held.push(s);
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(m.concurrency, m.sockets) }, worker));
  } catch (e) {
    process.send!({ type: 'failed', message: (e as Error).message });
    return;
  }
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  const grown = gcRss() - rss0;
  process.send!({ type: 'held', handshakesPerSec: Math.round(m.sockets / seconds), rssGrowth: grown });
  // Held until the bench has read the server's side, then it kills this process.
});
