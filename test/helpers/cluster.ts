import type tls from 'node:tls';
import { ClusterNode, type ClusterNodeOptions, type NodeProtocolSettings } from '../../src/cluster/node.js';
import { LocalQueue } from '../../src/cluster/local-queue.js';
import { MemoryRegistry } from '../../src/cluster/memory-machine-registry.js';
import type { PollfleetEvent } from '../../src/core/events.js';
import {
  SERVICE_CAPABILITIES_V2,
  SCRIPT_STATE_COMPLETE,
  TENTACLE_CAPABILITIES,
  TYPE_CAPABILITIES_RESPONSE_V2,
  TYPE_SCRIPT_STATUS_RESPONSE_V2,
  errorResponse,
  newSubscriptionId,
  okResponse,
  runSubscriberSession,
  type RequestMessage,
  type SessionEnd,
  type SubscriberHooks,
} from '../../src/halibut/index.js';
import { generateCertificate, type CertificateIdentity } from '../../src/pki/index.js';
import { PROTOCOL_DEFAULTS } from '../../src/scenario/defaults.js';
import { connectTls } from './tls-pair.js';
import { withTimeout } from './wait.js';

/** Test helpers for the simulated node (src/cluster): certificates, a real node on loopback, a tentacle session, raw probes. */

export const HOST = '127.0.0.1';
export const API_KEY = 'API-TESTKEY0000000000000000000000';

let certs: Promise<{ server: CertificateIdentity; tentacle: CertificateIdentity; stranger: CertificateIdentity }> | null = null;

/** One server, one registered-to-be tentacle and one never-trusted certificate per test process. */
export function testCertificates() {
  certs ??= (async () => ({
    server: await generateCertificate({ commonName: 'Octopus Portal' }),
    tentacle: await generateCertificate({ commonName: 'Octopus Tentacle' }),
    stranger: await generateCertificate({ commonName: 'Octopus Tentacle' }),
  }))();
  return certs;
}

/** Shortened protocol timeouts for tests. */
export function testProtocol(o: Partial<NodeProtocolSettings> = {}): NodeProtocolSettings {
  return {
    ...PROTOCOL_DEFAULTS,
    pollingQueueWaitMs: 300,
    pollingRequestQueueTimeoutMs: 1_000,
    receiveResponseTimeoutMs: 3_000,
    receiveTimeoutMs: 3_000,
    heartbeatTimeoutMs: 3_000,
    ...o,
  };
}

/** A real src/cluster ClusterNode on loopback, with every event it emitted. */
export interface ClusterTestNode {
  node: ClusterNode;
  events: PollfleetEvent[];
  registry: MemoryRegistry;
  queue: LocalQueue;
  pollingPort: number;
  apiPort: number;
  server: CertificateIdentity;
  /** Wait for the first event (already seen or future) matching `pred`. */
  waitFor<T extends PollfleetEvent['type']>(type: T, pred?: (e: Extract<PollfleetEvent, { type: T }>) => boolean, ms?: number): Promise<Extract<PollfleetEvent, { type: T }>>;
  close(): Promise<void>;
}

export async function startClusterNode(o: Partial<ClusterNodeOptions> = {}): Promise<ClusterTestNode> {
  const { server } = await testCertificates();
  const events: PollfleetEvent[] = [];
  const listeners = new Set<() => void>();
  const sink = (e: PollfleetEvent) => {
    events.push(e);
    for (const l of [...listeners]) l();
  };
  const registry = new MemoryRegistry();
  const queue = new LocalQueue({ sink });
  const node = new ClusterNode({
    name: 'node1',
    certificate: server,
    polling: { host: HOST, port: 0 },
    api: { host: HOST, port: 0 },
    apiKey: API_KEY,
    spaceId: 'Spaces-1',
    registry,
    queue,
    protocol: testProtocol(),
    workload: { intervalMs: 60_000, scriptShare: 0, enabled: false },
    sink,
    gracefulStopMs: 2_000,
    ...o,
  });
  const { pollingPort, apiPort } = await node.start();
  const waitFor: ClusterTestNode['waitFor'] = (type, pred, ms = 5_000) => {
    type E = Extract<PollfleetEvent, { type: typeof type }>;
    const find = () => events.find((e) => e.type === type && (!pred || pred(e as E))) as E | undefined;
    const hit = find();
    if (hit) return Promise.resolve(hit);
    let l: () => void;
    return withTimeout(
      new Promise<E>((resolve) => {
        l = () => {
          const h = find();
          if (h) resolve(h);
        };
        listeners.add(l);
      }),
      ms,
      `event ${type}`,
    ).finally(() => listeners.delete(l));
  };
  return {
    node, events, registry, queue, pollingPort, apiPort, server, waitFor,
    close: async () => {
      await withTimeout(node.stop(), 10_000, 'node stop');
      await queue.close();
    },
  };
}

/** Send `payload` over a fresh TLS connection and collect every byte until the node closes it. */
export async function rawExchange(port: number, payload: Buffer | string, cert?: CertificateIdentity): Promise<{ bytes: Buffer; error?: string }> {
  const s = await connectTls(port, { identity: cert ?? null });
  const chunks: Buffer[] = [];
  let error: string | undefined;
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  s.write(payload);
  await withTimeout(new Promise<void>((r) => s.once('close', () => r())), 5_000, 'node closes the connection');
  const out: { bytes: Buffer; error?: string } = { bytes: Buffer.concat(chunks) };
  if (error) out.error = error;
  return out;
}

/** Register a tentacle's thumbprint with a fresh subscription id. */
export async function registerTentacle(t: ClusterTestNode, cert: CertificateIdentity, name = 'tentacle-1'): Promise<string> {
  const subscriptionId = newSubscriptionId();
  await t.registry.register({
    name, spaceId: 'Spaces-1', environmentIds: ['Environments-1'], roles: ['web'], thumbprint: cert.thumbprint, subscriptionId,
  });
  return subscriptionId;
}

/** What a minimal tentacle answers (reference section 6); scripts complete after `scriptStatusCalls` GetStatus calls. */
export function tentacleAnswer(request: RequestMessage, scriptStatusCalls = 1, state = { calls: 0 }) {
  if (request.service === SERVICE_CAPABILITIES_V2) {
    return okResponse(request.id, { $type: TYPE_CAPABILITIES_RESPONSE_V2, SupportedCapabilities: [...TENTACLE_CAPABILITIES] });
  }
  if (request.service === 'IScriptServiceV2') {
    const ticket = (request.params[0] as { ScriptTicket?: unknown; Ticket?: unknown }).ScriptTicket ?? (request.params[0] as { Ticket?: unknown }).Ticket;
    if (request.method === 'CompleteScript') return okResponse(request.id, null);
    if (request.method === 'GetStatus') state.calls++;
    const done = request.method === 'GetStatus' && state.calls >= scriptStatusCalls;
    return okResponse(request.id, {
      $type: TYPE_SCRIPT_STATUS_RESPONSE_V2, Ticket: ticket, Logs: [], NextLogSequence: 0n,
      State: done ? SCRIPT_STATE_COMPLETE : 1, ExitCode: 0,
    });
  }
  return errorResponse(request.id, `Service ${request.service} not found`);
}

export interface TestTentacle {
  socket: tls.TLSSocket;
  polls: { kind: 'null' | 'request'; request: RequestMessage | null; at: number }[];
  identified: Promise<void>;
  done: Promise<SessionEnd>;
  stop(): void;
}

/** A polling tentacle session (src/halibut runSubscriberSession) over TLS. */
export async function runTestTentacle(port: number, cert: CertificateIdentity, subscriptionId: string, hooks: Partial<SubscriberHooks> = {}): Promise<TestTentacle> {
  const socket = await connectTls(port, { identity: cert });
  socket.on('error', () => {});
  const stopper = new AbortController();
  const polls: TestTentacle['polls'] = [];
  let onIdentified!: () => void;
  const identified = new Promise<void>((r) => (onIdentified = r));
  const state = { calls: 0 };
  const done = runSubscriberSession(
    socket,
    {
      identified: () => onIdentified(),
      polled: (kind, request) => polls.push({ kind, request, at: Date.now() }),
      handle: async (request) => ({ response: tentacleAnswer(request, 1, state) }),
      ...hooks,
    },
    { subscriptionId, receiveRequestTimeoutMs: 5_000, receiveTimeoutMs: 5_000, heartbeatTimeoutMs: 5_000, maxMessageBytes: PROTOCOL_DEFAULTS.maxMessageBytes },
    stopper.signal,
  ).finally(() => socket.end());
  return { socket, polls, identified, done, stop: () => stopper.abort() };
}
