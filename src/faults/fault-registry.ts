import type { FaultAction } from './resolve-faults.js';
import { crashAction } from './crash.js';
import { deregisterAction } from './deregister.js';
import { drainAction } from './drain.js';
import type { FaultActionDefinition } from './fault-action.js';
import { hangAction } from './hang.js';
import { idleTimeoutAction } from './idle-timeout.js';
import { networkToxicAction } from './network-toxic.js';
import { reconnectStormAction } from './reconnect-storm.js';
import { registerAction } from './register.js';
import { resetAction } from './reset.js';
import { restartAction } from './restart.js';
import { resumeAction } from './resume.js';
import { startAction } from './start.js';
import { stopAction } from './stop.js';
import { undrainAction } from './undrain.js';
import { unhealthyAction } from './unhealthy.js';

/** Every fault action by name. */
export const FAULT_ACTIONS: Record<FaultAction, FaultActionDefinition> = {
  crash: crashAction,
  restart: restartAction,
  hang: hangAction,
  resume: resumeAction,
  stop: stopAction,
  start: startAction,
  drain: drainAction,
  undrain: undrainAction,
  deregister: deregisterAction,
  register: registerAction,
  unhealthy: unhealthyAction,
  latency: networkToxicAction('latency', false),
  bandwidth: networkToxicAction('bandwidth', false),
  blackhole: networkToxicAction('blackhole', true),
  reset: resetAction,
  slice: networkToxicAction('slice', false),
  'limit-data': networkToxicAction('limit-data', false),
  'idle-timeout': idleTimeoutAction,
  'reconnect-storm': reconnectStormAction,
};
