/**
 * The soak's raw baseline: a bare `node:tls` server (bench/raw-tls-server.ts) holding as many
 * mutual-TLS connections as one node holds, from a client process that reconnects whatever
 * closes (bench/raw-storm-client.ts), reset at the same moments as the soak resets node1. What a
 * node's RSS does under reset storms is then shown beside what Node's own TLS server does under
 * the same storms on the same machine, in the same run: the part of a node's growth that is not
 * pollfleet's (without the soak's perturb byte: pages of Node's per-connection TLS allocations
 * written for the first time, bench/malloc-settings.ts).
 * The server runs with the node processes' V8 flags; GLIBC_TUNABLES is the soak's own (inherited).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateCertificate } from '../src/pki/certificate.js';
import { NODE_PROCESS_DEFAULTS } from '../src/scenario/defaults.js';

export interface RawStormSample { rss: number; heapTotal: number; sockets: number }

export interface RawStormPair {
  /** Reset every connection the server holds (the clients reconnect at once). */
  reset(): void;
  sample(): Promise<RawStormSample>;
  stop(): void;
}

export async function startRawStormPair(sockets: number, concurrency = 100): Promise<RawStormPair> {
  const server = await generateCertificate({ commonName: 'raw-server' });
  const client = await generateCertificate({ commonName: 'raw-client' });
  const start = (file: string, v8Flags: readonly string[]) =>
    fork(fileURLToPath(new URL(file, import.meta.url)), [], { execArgv: ['--import', 'tsx', '--expose-gc', ...v8Flags], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const serverChild = start('./raw-tls-server.ts', NODE_PROCESS_DEFAULTS.v8Flags);
  const clientChild = start('./raw-storm-client.ts', []);
  const stop = () => {
    clientChild.kill();
    serverChild.kill();
  };
  const next = <T>(child: ChildProcess, type: string) => new Promise<T>((resolve, reject) => {
    const on = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', on);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => reject(new Error(`a raw baseline process exited (code ${code})`));
    child.on('message', on);
    child.once('exit', onExit);
  });
  try {
    const listening = next<{ port: number }>(serverChild, 'listening');
    serverChild.send({ certPem: server.certPem, keyPem: server.keyPem });
    const { port } = await listening;
    clientChild.send({ port, certPem: client.certPem, keyPem: client.keyPem, sockets, concurrency });
  } catch (e) {
    stop();
    throw e;
  }
  return {
    reset: () => serverChild.send({ type: 'reset' }),
    sample: async () => {
      const r = next<RawStormSample>(serverChild, 'rss');
      serverChild.send({ type: 'rss' });
      const { rss, heapTotal, sockets: held } = await r;
      return { rss, heapTotal, sockets: held };
    },
    stop,
  };
}
