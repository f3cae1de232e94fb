import { availableParallelism } from 'node:os';
import { FLEET_DEFAULTS } from '../scenario/defaults.js';

/**
 * How many worker threads run the tentacles (fleet.workers). A number is taken as it is;
 * `auto` gives one worker per FLEET_DEFAULTS.tentaclesPerWorker tentacles, at most one less
 * than the cores (the main thread keeps the ramp, registration and the Recorder), at least 1
 * -- so small fleets, and any fleet on a 2-core machine, stay single-threaded.
 * 1 means no worker thread at all: the tentacles run on the main thread, as they always did.
 */
export function fleetWorkerCount(setting: number | 'auto', tentacles: number, cores: number = availableParallelism()): number {
  if (setting !== 'auto') return Math.max(1, Math.floor(setting));
  const wanted = Math.ceil(tentacles / FLEET_DEFAULTS.tentaclesPerWorker);
  return Math.max(1, Math.min(wanted, cores - 1));
}
