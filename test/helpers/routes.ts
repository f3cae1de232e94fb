/** Shared checks for the route verdict tests (simulators and real balancers). */
import type { Test } from 'tap';
import type { Result } from '../../src/result/result.js';
import { runSmall, smallScenario } from './run.js';

/** A small run of one route: 6 tentacles x 3 nodes, collection timeout short enough for expiry. */
export async function runRoute(t: Test, route: Record<string, unknown>, cluster: Record<string, unknown> = {}): Promise<Result> {
  const dir = t.testdir({});
  return runSmall(
    smallScenario({
      name: `route-${String(route['kind'])}`,
      route,
      cluster: { nodes: 3, pollingPort: 0, ...cluster },
      fleet: { tentacles: 6, rampUp: '500ms' },
      timeouts: { pollingQueueWait: '2s', pollingRequestQueueTimeout: '3s' },
      duration: '6s',
    }),
    dir,
  );
}

export function expectPass(t: Test, r: Result): void {
  t.equal(r.verdict.pass, true, `${r.route} passes: ${r.verdict.reasons.join('; ')}`);
  t.equal(r.summary.coverage.final, 1, 'every pair covered at the end');
  t.equal(r.summary.requests?.expired, 0, 'nothing expired');
}

/** One balanced address with a queue per node: the other nodes' work cannot be collected. */
export function expectSingleAddressFailure(t: Test, r: Result): void {
  t.equal(r.verdict.pass, false, 'single-address with per-node queues fails');
  t.ok(r.summary.coverage.final < 1, `coverage below 100 % (${r.summary.coverage.final})`);
  t.ok((r.summary.requests?.expired ?? 0) > 0, 'work expired on the nodes tentacles do not reach');
  for (const n of r.nodes) t.ok((n.polledBy ?? 0) < 6, `${n.name} is not polled by every tentacle (${n.polledBy}/6)`);
  t.ok(r.diagnosis.some((d) => /only the node|never received a poll/.test(d) && /own address or port|multi-node polling/.test(d)), 'the diagnosis explains the single address');
}

/** TLS termination in the path: the tentacle refuses the balancer's certificate. */
export function expectTlsOffloadFailure(t: Test, r: Result): void {
  t.equal(r.verdict.pass, false, 'a TLS-terminating balancer fails polling');
  t.ok((r.summary.errors['tls.thumbprint-mismatch'] ?? 0) > 0, 'thumbprint mismatches were counted');
  t.same(r.summary.nodesNeverPolled.sort(), ['node1', 'node2', 'node3'], 'no node was ever polled');
  t.ok(r.diagnosis.some((d) => /TLS offload/.test(d) && /[0-9A-F]{40}/.test(d)), 'the diagnosis names TLS offload with the thumbprints');
  t.ok(r.summary.registrationMs.count > 0, 'registration through the balancer still worked');
}
