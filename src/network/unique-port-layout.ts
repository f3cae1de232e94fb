import { PollfleetError } from '../core/errors.js';
import type { NlbListenerOptions } from './nlb-simulator.js';
import type { TargetGroupOptions, TargetSpec } from './target-group.js';

/** The settings every per-node target group shares (all but name and targets). */
export type SharedGroupOptions = Omit<TargetGroupOptions, 'name' | 'targets'>;

/**
 * The "unique port" (per-port NAT) design: listener `basePort + i` forwards to a target
 * group holding only node i, so one balancer address reaches every node by port
 * (10943 -> node1, 10944 -> node2, ...). `basePort` 0 lets the OS choose every port.
 */
export function uniquePortLayout(
  basePort: number,
  targets: TargetSpec[],
  shared: SharedGroupOptions = {},
): { listeners: NlbListenerOptions[]; targetGroups: TargetGroupOptions[] } {
  if (!Number.isInteger(basePort) || basePort < 0 || (basePort > 0 && basePort + targets.length - 1 > 65535)) {
    throw new PollfleetError('input.invalid', `unique-port layout basePort: expected 0 or a port with room for ${targets.length} listeners, got ${basePort}`);
  }
  const targetGroups = targets.map((t) => ({ ...shared, name: `${t.name}-tg`, targets: [t] }));
  const listeners = targets.map((t, i) => ({ port: basePort === 0 ? 0 : basePort + i, targetGroup: `${t.name}-tg` }));
  return { listeners, targetGroups };
}
