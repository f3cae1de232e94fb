import type { ToxicDefinition } from './toxic.js';

/** RST the connection the moment the toxic reaches it (the unhealthy-target reset, an RST wave). */
export const resetToxic = {
  kind: 'reset',
  summary: 'reset the connection at once (TCP RST to both sides)',
  create: (_p, link) => {
    link.reset();
    return { write: () => undefined, dispose: () => undefined };
  },
} satisfies ToxicDefinition;
