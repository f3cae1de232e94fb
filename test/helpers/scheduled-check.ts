/**
 * Helpers for the `check` / `history` CLI tests: a tiny embedded scenario, a recording
 * Pushgateway on loopback, and crafted Results for the history store.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Result } from '../../src/result/result.js';
import { PROJECT_ROOT } from './run.js';

/** 5 tentacles, 2 nodes, 3 s, shortened timeouts, ports from the OS. */
export const TINY_SCENARIO = `name: tiny
route: { kind: direct }
cluster: { nodes: 2, pollingPort: 0 }
fleet: { tentacles: 5, rampUp: 1s }
workload: { interval: 1s }
timeouts: { pollingQueueWait: 2s, pollingRequestQueueTimeout: 4s }
duration: 3s
`;

export interface SeenPush {
  method: string;
  url: string;
  body: string;
}

/** A Pushgateway stand-in on 127.0.0.1:0 recording every request; closed at teardown. */
export async function recordingGateway(t: { teardown(fn: () => unknown): void }): Promise<{ url: string; seen: SeenPush[] }> {
  const seen: SeenPush[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A URL on loopback where nothing listens (a port the OS gave out, then closed). */
export async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** The hand-checked passing Result fixture with a few figures replaced. */
export function craftedResult(over: { name?: string; route?: string; startedAt: string; pickupP99: number; coverageMin?: number; pass?: boolean }): Result {
  const r = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'result-pass-direct.json'), 'utf8')) as Result;
  r.name = over.name ?? 'nightly';
  r.route = over.route ?? 'direct';
  r.startedAt = over.startedAt;
  r.summary.pickupMs = { ...r.summary.pickupMs!, p99: over.pickupP99 };
  r.summary.coverage = { ...r.summary.coverage, min: over.coverageMin ?? 1 };
  const pass = over.pass ?? true;
  r.verdict = { pass, reasons: pass ? [] : ['requests.expired was 2, expected == 0'] };
  return r;
}
