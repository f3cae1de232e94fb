import { EmbeddedCluster } from '../../cluster/embedded-cluster.js';
import type { EventSink } from '../../core/events.js';
import type { CertificateIdentity } from '../../pki/certificate.js';
import { CLUSTER_DEFAULTS } from '../../scenario/defaults.js';
import type { Scenario } from '../../scenario/resolve.js';
import { nodeSpecs } from '../../plan/addressing.js';

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
    processes: s.cluster.processes,
    sink,
  });
}
