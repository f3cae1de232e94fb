import t from 'tap';
import { NlbSimulator, type NetworkEvent, type NlbOptions } from '../../src/network/index.js';
import { EchoTarget, connect, watch } from '../helpers/network.js';
import { sleep, waitFor } from '../helpers/wait.js';

// What the NLB simulator does at idle expiry (route.nlb.onIdle, set by route.preset):
// AWS NLB resets on the next packet (nlb-simulator.test.ts), Azure drops silently by default
// and resets both ways at once with "TCP reset on idle".

async function setup(t: { teardown(fn: () => unknown): void }, onIdle: NlbOptions['onIdle']) {
  const a = await new EchoTarget('a').start();
  t.teardown(() => a.stop());
  const events: NetworkEvent[] = [];
  const b = new NlbSimulator({ listeners: [{ port: 0, targetGroup: 'tg' }], targetGroups: [{ name: 'tg', targets: [a.spec()] }], idleTimeoutMs: 300, onIdle, onEvent: (e) => events.push(e) });
  await b.start();
  t.teardown(() => b.stop());
  const c = watch(await connect(b.ports[0]!));
  t.teardown(() => c.socket.destroy());
  c.socket.write('hello');
  await waitFor(() => c.text === 'hello', 2_000, 'echo');
  return { a, b, c, events, server: a.connections[0]! };
}

t.test('silent-drop (Azure default): nothing at expiry, later packets from either side vanish, no RST', async (t) => {
  const { b, c, events, server } = await setup(t, 'silent-drop');
  await waitFor(() => events.some((e) => e.type === 'flow-idle-expired'), 2_000, 'idle expiry');
  c.socket.write('are you there?');
  server.socket.write('late news');
  await sleep(600);
  t.notOk(c.isEnded || c.isClosed || c.errorCode, 'the client saw nothing: no data, no FIN, no RST');
  t.notOk(server.isEnded || server.isClosed || server.errorCode, 'the target saw nothing either');
  t.equal(c.text, 'hello', 'the target\'s late data never reached the client');
  t.equal(server.bytes, 5, 'the client\'s late data never reached the target');
  t.equal(b.stats().listeners[0]!.targets[0]!.resets.idle, 0, 'no reset counted');
  t.notOk(events.some((e) => e.type === 'flow-reset'), 'no flow-reset event');
});

t.test('reset (Azure "TCP reset on idle"): an RST to both sides at expiry, without waiting for a packet', async (t) => {
  const { b, c, server } = await setup(t, 'reset');
  await waitFor(() => c.isClosed && server.isClosed, 2_000, 'both sides reset');
  t.equal(c.errorCode, 'ECONNRESET', 'client gets a reset');
  t.equal(server.errorCode, 'ECONNRESET', 'target gets a reset');
  t.equal(b.stats().listeners[0]!.targets[0]!.resets.idle, 1);
});
