import t from 'tap';
import { runSmall, smallScenario } from '../../helpers/run.js';

// 50 tentacles polling 3 nodes, each entry a node's own address: every node polled, nothing expires.
for (const kind of ['direct', 'unique-port'] as const) {
  t.test(`route ${kind}: 50 tentacles x 3 nodes, every pair covered`, async (t) => {
    const result = await runSmall(
      smallScenario({ name: `direct-${kind}`, route: { kind }, fleet: { tentacles: 50, rampUp: '1s' }, duration: '5s' }),
      t.testdir(),
    );
    const s = result.summary;
    t.equal(s.tentacles, 50);
    t.equal(s.nodes, 3);
    t.equal(s.pairs, 150);
    t.equal(s.coverage.final, 1, 'coverage at the end');
    t.equal(result.nodes.length, 3);
    for (const n of result.nodes) {
      t.equal(n.connectedTentacles, 50, `${n.name} connected tentacles`);
      t.equal(n.polledBy, 50, `${n.name} polled by every tentacle`);
      t.equal(n.requests?.expired, 0, `${n.name} nothing expired`);
      t.ok((n.requests?.queued ?? 0) > 0, `${n.name} queued work`);
    }
    t.equal(s.requests?.expired, 0, 'nothing expired');
    t.ok((s.requests?.collected ?? 0) > 0, 'work was collected');
    t.ok(s.pickupMs && s.pickupMs.count > 0, 'pickup measured');
    t.ok(s.pickupMs!.p99! < 2_000, `pickup p99 ${s.pickupMs!.p99} ms < pollingQueueWait 2s`);
    t.same(s.nodesNeverPolled, []);
    t.equal(result.interrupted, false);
    // The harness self-check may warn on a loaded machine (the fleet's own loop lag); that is about the machine, not the route.
    t.same(result.diagnosis.filter((d) => !d.startsWith('Harness saturated')), [], 'nothing to diagnose');
    t.equal(result.verdict.pass, true, `verdict: ${result.verdict.reasons.join('; ')}`);
  });
}
