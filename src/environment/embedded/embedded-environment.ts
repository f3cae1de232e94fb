import type { LookupFunction } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { newApiKey } from '../../cluster/api-key.js';
import { EmbeddedCluster, type RunningNode } from '../../cluster/embedded-cluster.js';
import type { EventSink } from '../../core/events.js';
import { generateCertificate, type CertificateIdentity } from '../../pki/certificate.js';
import { CLUSTER_DEFAULTS } from '../../scenario/defaults.js';
import type { Scenario } from '../../scenario/resolve.js';
import { registerTentacle } from '../../tentacle/registration.js';
import { nodeSpecs } from '../../plan/addressing.js';
import type { Environment, EnvironmentInfo, EnvironmentNode } from '../environment.js';
import { routeFor } from '../routes/route-registry.js';
import type { RouteEnvironment } from '../routes/route.js';
import { startEmbeddedRedis } from './embedded-redis.js';

/** The embedded cluster a scenario asks for (used by `run` and by `pollfleet cluster`). */
export function createEmbeddedCluster(s: Scenario, certificate: CertificateIdentity, apiKey: string, sink: EventSink): EmbeddedCluster {
  return new EmbeddedCluster({
    nodes: nodeSpecs(s),
    certificate,
    apiKey,
    spaceId: CLUSTER_DEFAULTS.spaceId,
    apiHttps: s.cluster.apiHttps,
    protocol: s.protocol,
    workload: s.workload,
    queue: s.cluster.queue,
    redisUrl: s.cluster.redisUrl,
    startRedis: startEmbeddedRedis,
    redisQueue: s.cluster.redisQueue,
    processes: s.cluster.processes,
    maxConnectionsPerSubscription: s.cluster.maxConnectionsPerSubscription,
    apiRateLimit: s.cluster.apiRateLimit,
    nodeBehaviour: s.cluster.nodeBehaviour,
    sink,
  });
}

export interface EmbeddedEnvironmentOptions {
  /** Run folder (balancer configs, logs). */
  workDir: string;
  sink: EventSink;
  log: (line: string) => void;
  /** The nodes as the route should reach them (fault proxies in front, when network faults need them). */
  wrapNodes?: (nodes: RunningNode[]) => Promise<RunningNode[]>;
}

/**
 * The embedded cluster on loopback: a server certificate and API key, the nodes (one
 * process each unless the scenario says otherwise), fault proxies when needed, and the
 * route in front (a balancer simulator or real HAProxy / nginx). Tentacles register over
 * the REST API as `route.registration` says.
 */
export class EmbeddedEnvironment implements Environment {
  readonly #s: Scenario;
  readonly #o: EmbeddedEnvironmentOptions;
  #cluster: EmbeddedCluster | null = null;
  #route: RouteEnvironment | null = null;
  #dispatcher: Dispatcher | null = null;
  #pollingDispatcher: Agent | null = null;
  #stopping: Promise<void> | null = null;
  balancer: string | null = null;
  nodes: EnvironmentNode[];

  constructor(s: Scenario, o: EmbeddedEnvironmentOptions) {
    this.#s = s;
    this.#o = o;
    this.nodes = nodeSpecs(s).map((n) => ({ name: n.name, address: `${n.polling.host}:${n.polling.port}`, apiUrl: null }));
  }

  async start(): Promise<EnvironmentInfo> {
    const s = this.#s;
    const route = routeFor(s.route.kind);
    this.#o.log(`starting ${s.cluster.nodes} nodes (${s.cluster.processes ? 'one process each' : 'in process'}), route ${s.route.kind}, queue ${s.cluster.queue}`);
    const certificate = await generateCertificate({ commonName: 'Octopus Portal' });
    const key = newApiKey();
    const cluster = createEmbeddedCluster(s, certificate, key, this.#o.sink);
    this.#cluster = cluster;
    const running = await cluster.start();
    this.nodes = running.map((n) => ({ name: n.name, address: `${n.pollingHost}:${n.pollingPort}`, apiUrl: n.apiUrl }));
    const env = await route.build({
      scenario: s,
      nodes: this.#o.wrapNodes ? await this.#o.wrapNodes(running) : running,
      serverThumbprint: certificate.thumbprint,
      workDir: this.#o.workDir,
      balancerCertificate: () => generateCertificate({ commonName: 'pollfleet balancer' }),
    });
    this.#route = env;
    this.balancer = env.balancer;

    // Route kind proxy registers through undici's ProxyAgent (closed with the route).
    const dispatcher = env.registrationDispatcher ?? new Agent({ connections: s.fleet.registrationConcurrency, connect: { rejectUnauthorized: false } });
    // A name the fleet resolves itself (route sni-passthrough) resolves the same way for the port check.
    const fixedHost = env.entries[0]?.connectHost;
    const pollingDispatcher = new Agent({ connect: { rejectUnauthorized: false, ...(fixedHost ? { lookup: fixedLookup(fixedHost) } : {}) } });
    this.#dispatcher = dispatcher;
    this.#pollingDispatcher = pollingDispatcher;
    const urls = env.registrationUrls;
    // The POST /handshake port check is for the TCP polling port; a wss:// entry has none (it is the HTTPS API).
    const firstEntry = env.entryNodes[0] !== undefined && env.entryNodes[0] >= 0 && env.entries[0]?.transport !== 'websocket' ? env.entries[0] : undefined;
    const sink = this.#o.sink;
    // Registering straight to the nodes: a node that is not up (one that joins later, node-added)
    // is skipped, as a user registers through whichever node answers.
    const nodeNames = running.map((n) => n.name);
    const registrationUrl = (t: number): string => {
      if (urls.length !== nodeNames.length) return urls[t % urls.length]!;
      for (let k = 0; k < urls.length; k++) {
        const i = (t + k) % urls.length;
        if (cluster.isUp(nodeNames[i]!)) return urls[i]!;
      }
      return urls[t % urls.length]!;
    };
    return {
      entries: env.entries,
      entryNodes: env.entryNodes,
      identities: null,
      register: async (t, id) => {
        await registerTentacle({
          apiUrl: registrationUrl(t),
          communicationStyle: s.fleet.profile === 'kubernetes-agent' ? 'KubernetesTentacle' : 'TentacleActive',
          apiKey: key,
          space: CLUSTER_DEFAULTS.spaceId,
          name: `pollfleet-${String(t + 1).padStart(5, '0')}`,
          environments: ['Test'],
          roles: ['pollfleet'],
          thumbprint: id.identity.thumbprint,
          subscriptionId: id.subscriptionId,
          pollingPort: firstEntry ? { host: firstEntry.host, port: firstEntry.port } : undefined,
          dispatcher,
          pollingDispatcher,
          events: { sink, tentacle: t },
        });
      },
      // API load goes where tentacles register: through the ALB when the route registers through one.
      web: { url: urls[0]!, apiKey: key },
      faultTargets: { cluster, route: env },
    };
  }

  /** Route first (balancers), then the nodes, then the REST clients. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#route?.stop().catch(() => undefined);
      await this.#cluster?.stop().catch(() => undefined);
      await this.#dispatcher?.close().catch(() => undefined);
      await this.#pollingDispatcher?.close().catch(() => undefined);
    })();
    return this.#stopping;
  }
}

/** A DNS lookup that answers every name with one IPv4 address (names the fleet resolves itself). */
function fixedLookup(address: string): LookupFunction {
  return ((_host: string, opts: { all?: boolean }, cb: (err: Error | null, a: string | { address: string; family: number }[], f?: number) => void) => {
    if (opts?.all) cb(null, [{ address, family: 4 }]);
    else cb(null, address, 4);
  }) as unknown as LookupFunction;
}
