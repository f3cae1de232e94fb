import type { FaultActionDefinition } from './fault-action.js';
import { resetConnections } from './network-toxic.js';

/** RST a share of the target's connections now (the unhealthy-target reset). */
export const resetAction = {
  action: 'reset',
  blocksTarget: false,
  apply: (f, ctx) => {
    const n = resetConnections(f, ctx);
    ctx.log(`${f.name}: reset ${n} connection${n === 1 ? '' : 's'}`);
  },
} satisfies FaultActionDefinition;
