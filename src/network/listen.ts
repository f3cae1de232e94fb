import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PollfleetError } from '../core/errors.js';

function listenOne(server: Server, port: number, host: string, owner: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const why = e.code === 'EADDRINUSE' ? 'address in use' : e.code === 'EADDRNOTAVAIL' ? 'address not available on this machine' : e.message;
      reject(new PollfleetError('environment.failed', `${owner}: cannot listen on ${host}:${port}: ${why}`, { cause: e }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Listen on every server; on a failure close the ones that did start and reject. */
export async function listenAll(entries: Array<{ server: Server; port: number }>, host: string, owner: string): Promise<number[]> {
  const results = await Promise.allSettled(entries.map((e) => listenOne(e.server, e.port, host, owner)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(entries.map((e) => closeServer(e.server)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<number>).value);
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}
