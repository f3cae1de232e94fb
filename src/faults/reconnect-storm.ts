import type { FaultActionDefinition } from './fault-action.js';
import { resetConnections } from './network-toxic.js';

/**
 * Every tentacle's connections to the target are reset at once (the certificate-change /
 * RST-wave incident): they all come back through their back-off together.
 */
export const reconnectStormAction = {
  action: 'reconnect-storm',
  blocksTarget: false,
  apply: (f, ctx) => {
    const n = resetConnections(f, ctx);
    ctx.log(`${f.name}: reset ${n} connection${n === 1 ? '' : 's'} at once`);
  },
} satisfies FaultActionDefinition;
