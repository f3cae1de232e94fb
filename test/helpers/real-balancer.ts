/**
 * Helpers for tests that start real HAProxy / nginx processes: the install check (a missing
 * program fails the test on CI and skips it elsewhere), a temp work dir, named loopback
 * targets (TCP, TLS, HTTP, HTTPS) that answer with their own name, and bounded client calls.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { Test } from 'tap';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { locateBinary, INSTALL_HINTS, type BalancerBinary } from '../../src/network/real/find-binary.js';
import type { PollfleetError } from '../../src/core/errors.js';
import {
  DEFAULT_REAL_BALANCER_SETTINGS,
  startRealBalancer,
  type RealBalancerKind,
  type RealBalancerSettings,
  type RealBalancerSpec,
  type RunningBalancer,
} from '../../src/network/real/real-balancer.js';
import { generateCertificate, generateKeyPair, type CertificateIdentity } from '../../src/pki/certificate.js';
import { thumbprintOfDer } from '../../src/pki/thumbprint.js';
import { connectTls } from './tls-pair.js';
import { withTimeout } from './wait.js';

export const LOOPBACK = '127.0.0.1';
/** Bound on every single wait in these tests. */
export const WAIT_MS = 5_000;

/**
 * A subtest that needs `binary`. When it is not installed: on CI (CI=true) the subtest fails
 * with the install command; elsewhere it is skipped with the same message.
 */
export function testWithBalancer(
  t: Test,
  binary: BalancerBinary,
  name: string,
  fn: (t: Test, binaryPath: string) => Promise<void>,
  locate: (binary: BalancerBinary) => string | null = locateBinary,
): void {
  const path = locate(binary);
  if (path === null) {
    const why = `${binary} is not installed (${INSTALL_HINTS[binary]})`;
    if (process.env.CI === 'true') {
      t.test(name, (st) => {
        st.fail(`${why}; CI must install it`);
        st.end();
      });
    } else {
      t.test(name, { skip: why }, () => {});
    }
    return;
  }
  t.test(name, (st) => fn(st, path));
}

/** A fresh folder under the OS temp dir, removed when the test ends. */
export async function makeWorkDir(t: Test, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `pollfleet-${prefix}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** withTimeout with this file's bound as the default. */
export function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  return withTimeout(p, ms, what);
}

export interface NamedTarget {
  name: string;
  host: string;
  port: number;
  /** Connections (TCP/TLS) or requests (HTTP) it has accepted. */
  accepted: number;
  /** HTTP targets: the headers of each request. */
  requests: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

async function listen(server: net.Server, host: string): Promise<number> {
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, host, () => ok());
  });
  return (server.address() as AddressInfo).port;
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((ok) => {
      for (const s of sockets) s.destroy();
      server.close(() => ok());
    });
}

function track(server: net.Server, sockets: Set<net.Socket>): void {
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
}

/**
 * A TCP (or, with `cert`, TLS) target that answers every chunk it reads with `<name>:<chunk>`.
 * Errors from peers (health checks closing with RST) are ignored.
 */
export async function startNameTarget(name: string, cert?: CertificateIdentity): Promise<NamedTarget> {
  const sockets = new Set<net.Socket>();
  const target: NamedTarget = { name, host: LOOPBACK, port: 0, accepted: 0, requests: [], close: async () => {} };
  const onSocket = (s: net.Socket) => {
    target.accepted++;
    s.on('error', () => {});
    s.on('data', (d: Buffer) => s.write(`${name}:${d.toString('latin1')}`));
  };
  const server = cert ? tls.createServer({ cert: cert.certPem, key: cert.keyPem }, onSocket) : net.createServer(onSocket);
  server.on('tlsClientError', () => {});
  track(server, sockets);
  target.port = await listen(server, LOOPBACK);
  target.close = closer(server, sockets);
  return target;
}

/** An HTTP (or, with `cert`, HTTPS) target answering 200 with its name as the body. */
export async function startHttpTarget(name: string, cert?: CertificateIdentity): Promise<NamedTarget> {
  const sockets = new Set<net.Socket>();
  const target: NamedTarget = { name, host: LOOPBACK, port: 0, accepted: 0, requests: [], close: async () => {} };
  const handler: http.RequestListener = (req, res) => {
    target.accepted++;
    target.requests.push(req.headers);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
  };
  const server = cert ? https.createServer({ cert: cert.certPem, key: cert.keyPem }, handler) : http.createServer(handler);
  server.on('clientError', (_e, s) => s.destroy());
  track(server, sockets);
  target.port = await listen(server, LOOPBACK);
  target.close = closer(server, sockets);
  return target;
}

/** Certificates with their own key pairs (two distinct keys, so key/certificate mismatches are possible). */
export async function makeCertificates(): Promise<{ node1: CertificateIdentity; node2: CertificateIdentity; balancer: CertificateIdentity }> {
  const [a, b] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  return {
    node1: await generateCertificate({ commonName: 'Octopus Portal node1', keys: a }),
    node2: await generateCertificate({ commonName: 'Octopus Portal node2', keys: a }),
    balancer: await generateCertificate({ commonName: 'alb.example', keys: b }),
  };
}

/** A connected TCP client socket (for TLS: connectTls from ./tls-pair.js, then peerThumbprint). */
export async function connectTcp(port: number, host = LOOPBACK): Promise<net.Socket> {
  const s = net.connect({ host, port });
  s.on('error', () => {});
  await within(new Promise((ok, fail) => s.once('connect', ok).once('error', fail)), `connect to ${host}:${port}`);
  return s;
}

/** The certificate thumbprint the server presented on `socket`. */
export function peerThumbprint(socket: tls.TLSSocket): string {
  return thumbprintOfDer(socket.getPeerCertificate().raw);
}

/** Write `text`, return the target name from the `<name>:<text>` answer. */
export async function ask(socket: net.Socket, text: string): Promise<string> {
  const answer = within(
    new Promise<string>((ok, fail) => {
      let got = '';
      const onData = (d: Buffer) => {
        got += d.toString('latin1');
        if (got.endsWith(`:${text}`)) {
          socket.off('data', onData);
          ok(got.slice(0, got.length - text.length - 1));
        }
      };
      socket.on('data', onData);
      socket.once('close', () => fail(new Error(`closed before answering ${JSON.stringify(text)}; got ${JSON.stringify(got)}`)));
    }),
    `an answer to ${JSON.stringify(text)}`,
  );
  socket.write(text);
  return answer;
}

/** Everything the peer sends until it closes (bounded by time). */
export function readUntilClose(socket: net.Socket): Promise<string> {
  return within(
    new Promise<string>((ok) => {
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.once('close', () => ok(got));
    }),
    'the peer to close',
  );
}

/** An HTTPS GET on a fresh connection (any certificate accepted). */
export function httpsGet(port: number, path: string, host = LOOPBACK): Promise<{ status: number; body: string }> {
  return within(
    new Promise((ok, fail) => {
      const req = https.get({ host, port, path, agent: false, rejectUnauthorized: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', fail);
    }),
    `GET https://${host}:${port}${path}`,
  );
}

/** True while a process with this pid exists. */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Direct children of a process from /proc (nginx's workers). */
export async function childPids(parent: number): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = await readFile(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Whether something accepts TCP connections on host:port right now. */
export async function isListening(port: number, host = LOOPBACK): Promise<boolean> {
  return within(
    new Promise<boolean>((ok) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        ok(true);
      });
      s.once('error', () => ok(false));
    }),
    `a connect to ${host}:${port}`,
  );
}

// ---------------------------------------------------------------------------------------
// The behaviour every real balancer kind must show (run by haproxy.test.ts and nginx.test.ts)

/** Short process timeouts for tests; the proxy timeouts stay long, as in real runs. */
export const TEST_SETTINGS: RealBalancerSettings = {
  ...DEFAULT_REAL_BALANCER_SETTINGS,
  startTimeoutMs: 10_000,
  stopTimeoutMs: 3_000,
};
const TIMEOUTS = { connectMs: 2_000, clientMs: 3_600_000, serverMs: 3_600_000 };

let certs: ReturnType<typeof makeCertificates> | null = null;

async function startBalancer(t: Test, spec: RealBalancerSpec): Promise<RunningBalancer> {
  const b = await startRealBalancer(spec, TEST_SETTINGS);
  t.teardown(() => b.stop());
  return b;
}

async function targets(t: Test, names: string[], start: (name: string) => Promise<NamedTarget>): Promise<NamedTarget[]> {
  const ts = await Promise.all(names.map(start));
  t.teardown(() => Promise.all(ts.map((x) => x.close())));
  return ts;
}

/** A start that should have failed: stop what started, report no error. */
const stopUnexpected = (t: Test) => (b: RunningBalancer): null => {
  t.teardown(() => b.stop());
  return null;
};

const asTargets = (ts: NamedTarget[]) => ts.map((x) => ({ name: x.name, host: x.host, port: x.port }));

export function balancerConformance(t: Test, kind: RealBalancerKind): void {
  certs ??= makeCertificates();

  testWithBalancer(t, kind, `${kind}: tcp single address spreads connections and pins each one to a target`, async (t) => {
    const nodes = await targets(t, ['node1', 'node2', 'node3'], (n) => startNameTarget(n));
    const b = await startBalancer(t, {
      kind, workDir: await makeWorkDir(t, kind), listenHost: LOOPBACK, timeouts: TIMEOUTS,
      frontends: [{ mode: 'tcp', name: 'polling', port: 0, targets: asTargets(nodes) }],
    });
    t.equal(b.ports.length, 1);
    t.ok(b.ports[0]! > 0, 'a port was chosen');
    const seen = new Map<string, number>();
    for (let c = 0; c < 9; c++) {
      const s = await connectTcp(b.ports[0]!);
      const first = await ask(s, `c${c}-w0`);
      for (let w = 1; w < 10; w++) {
        const again = await ask(s, `c${c}-w${w}`);
        if (again !== first) t.fail(`connection ${c} moved from ${first} to ${again} at write ${w}`);
      }
      seen.set(first, (seen.get(first) ?? 0) + 1);
      s.destroy();
    }
    t.same([...seen.keys()].sort(), ['node1', 'node2', 'node3'], 'every target got connections');
    for (const [name, n] of seen) t.ok(n >= 2, `${name} got ${n} of 9 connections (round robin)`);
  });

  testWithBalancer(t, kind, `${kind}: unique ports -- frontend i reaches only target i`, async (t) => {
    const nodes = await targets(t, ['node1', 'node2', 'node3'], (n) => startNameTarget(n));
    const b = await startBalancer(t, {
      kind, workDir: await makeWorkDir(t, kind), listenHost: LOOPBACK, timeouts: TIMEOUTS,
      frontends: nodes.map((n) => ({ mode: 'tcp' as const, name: `port-${n.name}`, port: 0, targets: asTargets([n]) })),
    });
    t.equal(new Set(b.ports).size, 3, 'three distinct ports');
    for (let i = 0; i < 3; i++) {
      for (let c = 0; c < 3; c++) {
        const s = await connectTcp(b.ports[i]!);
        t.equal(await ask(s, `p${i}c${c}`), nodes[i]!.name, `port ${i} connection ${c} reaches ${nodes[i]!.name}`);
        s.destroy();
      }
    }
  });

  testWithBalancer(t, kind, `${kind}: tcp pass-through keeps TLS end to end (the target's certificate)`, async (t) => {
    const { node1, node2 } = await certs!;
    const tlsNodes = await targets(t, ['node1', 'node2'], (n) => startNameTarget(n, n === 'node1' ? node1 : node2));
    const expected = new Map([['node1', node1.thumbprint], ['node2', node2.thumbprint]]);
    const b = await startBalancer(t, {
      kind, workDir: await makeWorkDir(t, kind), listenHost: LOOPBACK, timeouts: TIMEOUTS,
      frontends: [{ mode: 'tcp', name: 'polling', port: 0, targets: asTargets(tlsNodes) }],
    });
    const reached = new Set<string>();
    for (let c = 0; c < 4; c++) {
      const socket = await connectTls(b.ports[0]!, { timeoutMs: WAIT_MS });
      const thumbprint = peerThumbprint(socket);
      const name = await ask(socket, `tls${c}`);
      reached.add(name);
      t.equal(thumbprint, expected.get(name), `connection ${c}: ${name}'s own certificate`);
      socket.destroy();
    }
    t.equal(reached.size, 2, 'both TLS targets were reached');
  });

  testWithBalancer(t, kind, `${kind}: http-tls presents its own certificate, answers raw polling bytes with 400, proxies HTTP`, async (t) => {
    const { balancer, node1 } = await certs!;
    const web = await targets(t, ['web1', 'web2'], (n) => startHttpTarget(n));
    const secureWeb = await targets(t, ['secure1'], (n) => startHttpTarget(n, node1));
    const b = await startBalancer(t, {
      kind, workDir: await makeWorkDir(t, kind), listenHost: LOOPBACK, timeouts: TIMEOUTS,
      frontends: [
        { mode: 'http-tls', name: 'alb', port: 0, certPem: balancer.certPem, keyPem: balancer.keyPem, targets: asTargets(web) },
        { mode: 'http-tls', name: 'alb-https', port: 0, certPem: balancer.certPem, keyPem: balancer.keyPem,
          targets: secureWeb.map((x) => ({ name: x.name, host: x.host, port: x.port, tls: true })) },
      ],
    });
    const socket = await connectTls(b.ports[0]!, { timeoutMs: WAIT_MS });
    const thumbprint = peerThumbprint(socket);
    t.equal(thumbprint, balancer.thumbprint, "the balancer's certificate, not a node's");
    t.not(thumbprint, node1.thumbprint);
    const answer = readUntilClose(socket);
    socket.write('MX\r\n\r\n');
    const text = await answer;
    t.match(text.split('\r\n')[0], /^HTTP\/1\.[01] 400 /, `raw polling bytes get 400 (got ${JSON.stringify(text.split('\r\n')[0])})`);
    t.equal(web[0]!.accepted + web[1]!.accepted, 0, 'nothing reached a target');

    const bodies = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await httpsGet(b.ports[0]!, '/api/octopusservernodes/ping');
      t.equal(r.status, 200);
      bodies.add(r.body);
    }
    t.same([...bodies].sort(), ['web1', 'web2'], 'requests were spread over both targets');
    t.equal(web[0]!.requests[0]?.['x-forwarded-proto'], 'https', 'targets learn the client used https');

    const r = await httpsGet(b.ports[1]!, '/');
    t.same(r, { status: 200, body: 'secure1' }, 'proxied to an https target');
  });

  testWithBalancer(t, kind, `${kind}: stop() leaves no process and no listener behind`, async (t) => {
    const nodes = await targets(t, ['node1'], (n) => startNameTarget(n));
    const b = await startRealBalancer({
      kind, workDir: await makeWorkDir(t, kind), listenHost: LOOPBACK, timeouts: TIMEOUTS,
      frontends: [{ mode: 'tcp', name: 'polling', port: 0, targets: asTargets(nodes) }],
    }, TEST_SETTINGS);
    const s = await connectTcp(b.ports[0]!);
    t.equal(await ask(s, 'before-stop'), 'node1');
    const workers = await childPids(b.pid);
    t.ok(b.isRunning());
    const stopping = b.stop();
    t.equal(b.stop(), stopping, 'concurrent stops share one promise');
    await within(stopping, 'stop()', TEST_SETTINGS.stopTimeoutMs + WAIT_MS);
    t.notOk(b.isRunning());
    t.notOk(isPidAlive(b.pid), `process ${b.pid} is gone`);
    for (const w of workers) t.notOk(isPidAlive(w), `worker ${w} is gone`);
    t.notOk(await isListening(b.ports[0]!), 'the port is closed');
    await b.stop();
  });

  testWithBalancer(t, kind, `${kind}: a configuration the program refuses fails with its own message`, async (t) => {
    const { balancer, node1 } = await certs!;
    const web = await targets(t, ['web1'], (n) => startHttpTarget(n));
    const err = await startRealBalancer({
      kind, workDir: await makeWorkDir(t, kind), listenHost: LOOPBACK, timeouts: TIMEOUTS,
      // node1's certificate with the balancer's key: a valid PEM pair that does not belong together.
      frontends: [{ mode: 'http-tls', name: 'alb', port: 0, certPem: node1.certPem, keyPem: balancer.keyPem, targets: asTargets(web) }],
    }, TEST_SETTINGS).then(stopUnexpected(t), (e: unknown) => e as PollfleetError);
    t.ok(err, 'start was refused');
    t.equal(err?.kind, 'environment.failed');
    t.match(err?.message, new RegExp(`^${kind} rejected the configuration .*${kind === 'haproxy' ? 'haproxy.cfg' : 'nginx.conf'}`));
    t.match(err?.message, kind === 'haproxy' ? /\[ALERT\].*(private key|certificate)/i : /\[emerg\].*(key values mismatch|PrivateKey)/i, 'the program says what is wrong');
    t.notMatch(err?.message, /PRIVATE KEY/, 'no key material in the message');
  });

  testWithBalancer(t, kind, `${kind}: a port another program holds is refused with a clear message`, async (t) => {
    const nodes = await targets(t, ['node1'], (n) => startNameTarget(n));
    // Hold a port so the balancer cannot have it.
    const holder = net.createServer();
    const taken = await listen(holder, LOOPBACK);
    t.teardown(() => new Promise<void>((ok) => holder.close(() => ok())));
    const err = await startRealBalancer({
      kind, workDir: await makeWorkDir(t, kind), listenHost: LOOPBACK, timeouts: TIMEOUTS,
      frontends: [{ mode: 'tcp', name: 'polling', port: taken, targets: asTargets(nodes) }],
    }, TEST_SETTINGS).then(stopUnexpected(t), (e: unknown) => e as PollfleetError);
    t.ok(err, 'start was refused');
    t.equal(err?.kind, 'environment.failed');
    t.equal(err?.message, `port ${taken} on ${LOOPBACK} is already in use by another program`);
  });
}
