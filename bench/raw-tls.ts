/**
 * The raw baseline, measured in the same run as pollfleet: a `node:tls` mutual-TLS pair with
 * the same key type (RSA-2048 both ways), clients in this process, the server in a child.
 * What it gives is the ceiling on this machine: handshakes per second with `concurrency`
 * handshakes in flight, and RSS per held socket on each side.
 */
import { fork } from 'node:child_process';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { generateCertificate } from '../src/pki/certificate.js';

export interface RawBaseline {
  sockets: number;
  handshakesPerSec: number;
  clientKiBPerSocket: number;
  serverKiBPerSocket: number;
}

function gcRss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

export async function measureRawTls(sockets: number, concurrency = 64): Promise<RawBaseline> {
  const server = await generateCertificate({ commonName: 'raw-server' });
  const client = await generateCertificate({ commonName: 'raw-client' });
  const child = fork(fileURLToPath(new URL('./raw-tls-server.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(type: string) => new Promise<T>((resolve) => {
    const on = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
  });
  try {
    const listening = ask<{ port: number }>('listening');
    child.send({ certPem: server.certPem, keyPem: server.keyPem });
    const { port } = await listening;
    const serverRss = async () => {
      const r = ask<{ rss: number }>('rss');
      child.send({ type: 'rss' });
      return (await r).rss;
    };
    const ctx = tls.createSecureContext({ cert: client.certPem, key: client.keyPem });
    const held: tls.TLSSocket[] = [];
    const server0 = await serverRss();
    const client0 = gcRss();
    let next = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (next < sockets) {
        next++;
        await new Promise<void>((resolve, reject) => {
          // The thumbprint is pinned by the caller in pollfleet; here the check is skipped, as its cost is a hash.
          const s = tls.connect({ host: '127.0.0.1', port, secureContext: ctx, rejectUnauthorized: false }, () => resolve());
          s.once('error', reject);
          held.push(s);
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, sockets) }, worker));
    const seconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 500));
    const clientRss = gcRss() - client0;
    const serverDelta = (await serverRss()) - server0;
    for (const s of held) s.destroy();
    return {
      sockets,
      handshakesPerSec: Math.round(sockets / seconds),
      clientKiBPerSocket: Math.round(clientRss / 1024 / sockets),
      serverKiBPerSocket: Math.round(serverDelta / 1024 / sockets),
    };
  } finally {
    child.kill();
  }
}
