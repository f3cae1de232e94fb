import { bandwidthToxic } from './bandwidth-toxic.js';
import { blackholeToxic } from './blackhole-toxic.js';
import { latencyToxic } from './latency-toxic.js';
import { limitDataToxic } from './limit-data-toxic.js';
import { resetToxic } from './reset-peer-toxic.js';
import { sliceToxic } from './slice-toxic.js';
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
