/**
 * The shared formatting helpers live in src/core/format.ts (a low layer: result/ and
 * verdict/ use them too, and may not import report/). Re-exported here for the renderers.
 */
export * from '../core/format.js';
