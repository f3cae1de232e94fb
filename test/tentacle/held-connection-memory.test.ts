import t from 'tap';
import v8 from 'node:v8';
import vm from 'node:vm';
import { newSubscriptionId } from '../../src/halibut/subscription.js';
import { PollingConnection, type ConnectionOutcome } from '../../src/tentacle/polling-connection.js';
import { serverEntry } from '../../src/tentacle/server-entry.js';
import { TentacleServices } from '../../src/tentacle/services.js';
import { tentacleSecureContext } from '../../src/tentacle/tentacle.js';
import { EventLog, TEST_TIMEOUTS, startStubNode } from '../helpers/tentacle.js';
import { getTestCertificates } from '../helpers/tls-pair.js';
import { withTimeout } from '../helpers/wait.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const certs = await getTestCertificates();
const secureContext = tentacleSecureContext(certs.tentacle);

/** Collect until `ref` is gone (a few rounds: finalisation of native handles may take a turn of the loop). */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 20 && ref.deref() !== undefined; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return ref.deref() === undefined;
}

t.test('a connection the node dropped is collectable while the signal it ran under lives on', async (t) => {
  const node = await startStubNode({ pollingQueueWaitMs: 200 });
  t.teardown(() => node.close());
  const log = new EventLog();
  // Lives on after the connection, as a tentacle's signal does across its reconnects.
  const ac = new AbortController();
  let conn: PollingConnection | null = new PollingConnection({
    tentacle: 1, entry: 0, conn: 1,
    server: serverEntry(node.address, node.thumbprint),
    secureContext,
    tentacleThumbprint: certs.tentacle.thumbprint,
    subscriptionId: newSubscriptionId(),
    timeouts: TEST_TIMEOUTS,
    services: new TentacleServices({ scriptRunMs: 50 }),
    sink: log.sink,
  });
  const ref = new WeakRef(conn);
  let outcome: Promise<ConnectionOutcome> | null = conn.run(ac.signal);
  conn = null;
  await log.waitFor((e) => e.type === 'identified', 5_000, 'identified');
  // Held through a few idle cycles (null message, NEXT, PROCEED), then dropped by the node.
  await log.waitForCount((e) => e.type === 'polled', 2, 5_000, 'two idle polls');
  t.ok(ref.deref() !== undefined, 'held while open');
  node.dropConnections();
  const out = await withTimeout(outcome, 5_000, 'the connection ends');
  outcome = null;
  t.equal(out.reason, 'error', 'ended by the drop');
  // Nothing may keep it: no read deadline left in the shared timer, no listener on the live
  // signal, no callback held by the session or the reader.
  t.ok(await collected(ref), 'the ended connection was collected');
  t.notOk(ac.signal.aborted);
});
