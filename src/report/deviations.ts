import type { Result } from '../result/result.js';

/**
 * Named deviations of a run from real Octopus behaviour that the reports must state (read from
 * the resolved scenario the Result carries). Today one: `cluster.nodeBehaviour: lenient`.
 */
export function deviationsOf(r: Result): string[] {
  const cluster = (r.scenario as { cluster?: { nodeBehaviour?: unknown } } | null)?.cluster;
  if (r.target !== 'embedded' || cluster?.nodeBehaviour !== 'lenient') return [];
  return [
    'nodeBehaviour lenient: the embedded nodes notice a dead connection at once and requeue its work, where a real node loses work handed to a dead connection (failover numbers more optimistic than a real cluster)',
  ];
}
