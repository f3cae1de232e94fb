/** Shared checks for route sni-passthrough (simulator, HAProxy, nginx). */
import type { Test } from 'tap';
import type { Result } from '../../src/result/result.js';
import { runRoute } from './routes.js';

/** A small sni-passthrough run (6 tentacles x 3 nodes) on a free port with `sni` settings and a balancer. */
export function runSni(t: Test, balancer: 'simulator' | 'haproxy' | 'nginx', sni: Record<string, unknown> = {}): Promise<Result> {
  return runRoute(t, { kind: 'sni-passthrough', balancer, sni: { port: 0, ...sni } });
}

/** polling2.example.test mapped to node1: node2's work is never collected; the diagnosis names the name and node1. */
export function expectMisroute(t: Test, r: Result): void {
  t.equal(r.verdict.pass, false, 'a misrouted name fails');
  const node2 = r.nodes.find((n) => n.name === 'node2')!;
  const node1 = r.nodes.find((n) => n.name === 'node1')!;
  t.equal(node2.polledBy, 0, 'node2 is never polled');
  t.ok((node2.requests?.expired ?? 0) > 0, 'work queued on node2 expired');
  t.ok((node1.polls ?? 0) > 0 && (node1.requests?.collected ?? 0) > 0, 'node1 collected work');
  t.ok(r.diagnosis.some((d) => d.includes('polling2.example.test is routed to node1 instead of node2')), `the diagnosis names the name and the node it reached: ${r.diagnosis.join(' | ')}`);
}

/** polling3.example.test unmapped: node3 never polled; the diagnosis names the name. */
export function expectMissing(t: Test, r: Result): void {
  t.equal(r.verdict.pass, false, 'a missing name fails');
  t.same(r.summary.nodesNeverPolled, ['node3'], 'only node3 is never polled');
  t.ok(r.diagnosis.some((d) => d.includes('polling3.example.test is missing on the SNI router')), `the diagnosis names the missing name: ${r.diagnosis.join(' | ')}`);
}

/** An HTTP-mode proxy terminating TLS on 443. */
export function expectHttpMode(t: Test, r: Result): void {
  t.equal(r.verdict.pass, false, 'an HTTP-mode proxy fails');
  t.ok((r.summary.errors['tls.thumbprint-mismatch'] ?? 0) > 0, 'the tentacle refused the proxy certificate');
  t.same([...r.summary.nodesNeverPolled].sort(), ['node1', 'node2', 'node3'], 'no node was polled');
  t.ok(r.diagnosis.some((d) => d.startsWith('TLS terminated on 443: SNI passthrough needed')), 'the diagnosis says TLS was terminated on 443');
}
