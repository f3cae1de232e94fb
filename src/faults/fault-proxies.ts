import type { RunningNode } from '../cluster/embedded-cluster.js';
import { FaultProxy } from '../network/toxics/fault-proxy.js';
import { FAULT_DEFAULTS } from '../scenario/defaults.js';
import type { FaultProxyTargets } from './fault-context.js';

/** One fault proxy per node, standing where the route would otherwise reach the node. */
export interface FaultProxies extends FaultProxyTargets {
  /** The nodes as the route sees them: polling host/port of each node's proxy. */
  nodes: RunningNode[];
  byNode: Map<string, FaultProxy>;
  stop(): Promise<void>;
}

/** Start a proxy in front of every node (same loopback address, a port from the OS). */
export async function startFaultProxies(nodes: RunningNode[]): Promise<FaultProxies> {
  const byNode = new Map<string, FaultProxy>();
  const stopAll = () => Promise.all([...byNode.values()].map((p) => p.stop())).then(() => undefined);
  try {
    for (const n of nodes) {
      const p = new FaultProxy({
        name: `fault proxy for ${n.name}`,
        host: n.pollingHost,
        port: 0,
        upstream: { host: n.pollingHost, port: n.pollingPort },
        connectTimeoutMs: FAULT_DEFAULTS.proxyConnectTimeoutMs,
      });
      byNode.set(n.name, p);
      await p.start();
    }
  } catch (e) {
    await stopAll();
    throw e;
  }
  return {
    nodes: nodes.map((n) => ({ ...n, pollingPort: byNode.get(n.name)!.port })),
    byNode,
    targets: (f) => (f.target.kind === 'node' ? [byNode.get(f.target.node)!] : [...byNode.values()]),
    stop: stopAll,
  };
}
