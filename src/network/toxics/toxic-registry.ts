import { bandwidthToxic } from './bandwidth.js';
import { blackholeToxic } from './blackhole.js';
import { latencyToxic } from './latency.js';
import { limitDataToxic } from './limit-data.js';
import { resetToxic } from './reset-peer.js';
import { sliceToxic } from './slice.js';
import type { ToxicDefinition, ToxicKind } from './toxic.js';

/** Every toxic by kind. Adding one: a file here, a line below, a test. */
export const TOXICS: Record<ToxicKind, ToxicDefinition> = {
  latency: latencyToxic,
  bandwidth: bandwidthToxic,
  blackhole: blackholeToxic,
  reset: resetToxic,
  slice: sliceToxic,
  'limit-data': limitDataToxic,
};
