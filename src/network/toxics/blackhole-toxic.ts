import type { ToxicDefinition } from './toxic.js';

/**
 * Data stops and nothing closes (the NLB's silent drop): every chunk, including the end
 * of the stream, is lost while the toxic is in place. Only timeouts can notice.
 */
export const blackholeToxic = {
  kind: 'blackhole',
  summary: 'drop every chunk and the end of stream; nothing closes',
  create: () => ({ write: () => undefined, dispose: () => undefined }),
} satisfies ToxicDefinition;
