import type { EmbeddedNodeSpec } from '../cluster/embedded-cluster.js';
import type { Scenario } from '../scenario/resolve.js';

/** `127.0.0.11` + 2 -> `127.0.0.13`. */
export function offsetAddress(base: string, offset: number): string {
  const parts = base.split('.').map(Number);
  let n = ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]! + offset;
  const out = [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  n = 0;
  return out.join('.');
}

/**
 * Where each embedded node listens for a route:
 * - unique-port: one address (127.0.0.1), one port per node (10943, 10944, ...);
 * - every other route: one loopback address per node (127.0.0.11, .12, ...), the same port,
 *   as real HA nodes do; balancers (when the route has one) listen in front of them.
 * Port 0 asks for any free port (tests); the REST API always takes a free port here.
 */
export function nodeSpecs(s: Scenario): EmbeddedNodeSpec[] {
  const specs: EmbeddedNodeSpec[] = [];
  for (let i = 0; i < s.cluster.nodes; i++) {
    const name = `node${i + 1}`;
    if (s.route.kind === 'unique-port') {
      const port = s.cluster.pollingPort === 0 ? 0 : s.cluster.pollingPort + i;
      specs.push({ name, polling: { host: '127.0.0.1', port }, api: { host: '127.0.0.1', port: 0 } });
    } else {
      const host = offsetAddress(s.cluster.directAddressBase, i);
      specs.push({ name, polling: { host, port: s.cluster.pollingPort }, api: { host, port: 0 } });
    }
  }
  return specs;
}

/** The balancer's loopback address: the one just below the first node's (127.0.0.10 by default). */
export function balancerAddress(s: Scenario): string {
  return offsetAddress(s.cluster.directAddressBase, -1);
}
