import type { AnyFaultDefinition } from './fault-definition.js';
import type { FaultBase } from './fault-spec.js';
import { bandwidthFault } from './bandwidth.js';
import { blackholeFault } from './blackhole.js';
import { crashFault } from './crash.js';
import { deregisterFault } from './deregister.js';
import { drainFault } from './drain.js';
import { hangFault } from './hang.js';
import { idleTimeoutFault } from './idle-timeout.js';
import { latencyFault } from './latency.js';
import { limitDataFault } from './limit-data.js';
import { nodeAddedFault } from './node-added.js';
import { reconnectStormFault } from './reconnect-storm.js';
import { redisKillFault } from './redis-kill.js';
import { redisLatencyFault } from './redis-latency.js';
import { redisPauseFault } from './redis-pause.js';
import { redisRestartFault } from './redis-restart.js';
import { registerFault } from './register.js';
import { resetFault } from './reset.js';
import { restartFault } from './restart.js';
import { resumeFault } from './resume.js';
import { sliceFault } from './slice.js';
import { startFault } from './start.js';
import { stopFault } from './stop.js';
import { undrainFault } from './undrain.js';
import { unhealthyFault } from './unhealthy.js';

/**
 * Every fault kind, by name: the one list (no registration by side effect). The order is
 * the order users see in messages ("expected action to be one of: crash, restart, ...").
 */
export const FAULT_DEFINITIONS = {
  crash: crashFault,
  restart: restartFault,
  hang: hangFault,
  resume: resumeFault,
  stop: stopFault,
  start: startFault,
  drain: drainFault,
  undrain: undrainFault,
  deregister: deregisterFault,
  register: registerFault,
  unhealthy: unhealthyFault,
  latency: latencyFault,
  bandwidth: bandwidthFault,
  blackhole: blackholeFault,
  reset: resetFault,
  slice: sliceFault,
  'limit-data': limitDataFault,
  'idle-timeout': idleTimeoutFault,
  'reconnect-storm': reconnectStormFault,
  'node-added': nodeAddedFault,
  'redis-restart': redisRestartFault,
  'redis-pause': redisPauseFault,
  'redis-latency': redisLatencyFault,
  'redis-kill': redisKillFault,
} as const;

type Definitions = typeof FAULT_DEFINITIONS;
export type FaultKind = keyof Definitions;

// every entry is filed under its own kind and follows the contract
const filedUnderItsKind: { readonly [K in FaultKind]: AnyFaultDefinition & { kind: K } } = FAULT_DEFINITIONS;
void filedUnderItsKind;

/** Every fault kind, in registry order. */
export const FAULT_KINDS = Object.keys(FAULT_DEFINITIONS) as FaultKind[];

/**
 * A resolved fault: the shared fields (name, action, target, atMs, forMs) and the
 * parameters of its kind, discriminated on `action`.
 */
export type FaultSpec = { [K in FaultKind]: FaultBase<K> & ReturnType<Definitions[K]['resolve']> }[FaultKind];

/** The definition of a kind, as the timeline, the run and the validation use it. */
export function faultDefinition(kind: FaultKind): AnyFaultDefinition {
  return FAULT_DEFINITIONS[kind];
}
