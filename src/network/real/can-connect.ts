import { createConnection } from 'node:net';

/** Whether a TCP connection to host:port opens within timeoutMs (a started program's readiness probe). */
export function canConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createConnection({ host, port });
    const done = (v: boolean) => {
      clearTimeout(timer);
      s.destroy();
      ok(v);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
