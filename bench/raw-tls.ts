/**
 * The raw baseline, measured in the same run as pollfleet: a `node:tls` mutual-TLS pair with
 * the same key type (RSA-2048 both ways), the clients in one child process and the server in
 * another (bench/raw-tls-client.ts, bench/raw-tls-server.ts), so the bench's own process -- where
 * the single-process fleet runs next -- has held no raw socket.
 * What it gives is the ceiling on this machine: handshakes per second with `concurrency`
 * handshakes in flight, and RSS per held socket on each side.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateCertificate } from '../src/pki/certificate.js';

export interface RawBaseline {
  sockets: number;
  handshakesPerSec: number;
  clientKiBPerSocket: number;
  serverKiBPerSocket: number;
}

export async function measureRawTls(sockets: number, concurrency = 64): Promise<RawBaseline> {
  const server = await generateCertificate({ commonName: 'raw-server' });
  const client = await generateCertificate({ commonName: 'raw-client' });
  const start = (file: string) => fork(fileURLToPath(new URL(file, import.meta.url)), [], { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const serverChild = start('./raw-tls-server.ts');
  const clientChild = start('./raw-tls-client.ts');
  const ask = <T>(child: ChildProcess, ...types: string[]) => new Promise<T>((resolve, reject) => {
    const on = (m: { type: string }) => {
      if (!types.includes(m.type)) return;
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
    child.once('exit', (code) => reject(new Error(`a raw baseline process exited (code ${code})`)));
  });
  try {
    const listening = ask<{ port: number }>(serverChild, 'listening');
    serverChild.send({ certPem: server.certPem, keyPem: server.keyPem });
    const { port } = await listening;
    const serverRss = async () => {
      const r = ask<{ rss: number }>(serverChild, 'rss');
      serverChild.send({ type: 'rss' });
      return (await r).rss;
    };
    const server0 = await serverRss();
    const held = ask<{ type: 'held'; handshakesPerSec: number; rssGrowth: number } | { type: 'failed'; message: string }>(clientChild, 'held', 'failed');
    clientChild.send({ port, certPem: client.certPem, keyPem: client.keyPem, sockets, concurrency });
    const r = await held;
    if (r.type === 'failed') throw new Error(`raw baseline: ${r.message}`);
    const serverDelta = (await serverRss()) - server0;
    return {
      sockets,
      handshakesPerSec: r.handshakesPerSec,
      clientKiBPerSocket: Math.round(r.rssGrowth / 1024 / sockets),
      serverKiBPerSocket: Math.round(serverDelta / 1024 / sockets),
    };
  } finally {
    clientChild.kill();
    serverChild.kill();
  }
}
