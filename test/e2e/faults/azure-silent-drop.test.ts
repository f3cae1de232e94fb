import t from 'tap';
import { renderConsoleResult } from '../../../src/report/render-console.js';
import { runSmall, smallScenario } from '../../helpers/run.js';

// route.preset azure-lb: an idle flow is dropped silently (no RST), so a tentacle notices only
// when its receive timeout runs out -- later than the next poll, where an RST would tell it.
// The report shows that detection time.
t.test('azure-lb drops idle flows silently; the report shows the detection time', async (t) => {
  const r = await runSmall(
    smallScenario({
      name: 'azure-silent-drop',
      route: { kind: 'nlb-unique-port', preset: 'azure-lb' },
      cluster: { nodes: 1, pollingPort: 0 },
      fleet: { tentacles: 3, rampUp: '300ms' },
      workload: { interval: '2s' },
      timeouts: { pollingQueueWait: '2s', receiveRequestTimeout: '5s', pollingRequestQueueTimeout: '6s', receiveResponseTimeout: '6s' },
      backoff: { min: '500ms', max: '2s' },
      duration: '12s',
      faults: [{ at: '1s', action: 'idle-timeout', target: 'balancer', idleTimeout: '1s', for: '6s' }],
    }),
    t.testdir({}),
  );
  t.equal((r.scenario as { route: { nlb: { onIdle: string } } }).route.nlb.onIdle, 'silent-drop', 'the preset set silent drop');
  t.equal(r.summary.errors['tcp.reset'] ?? 0, 0, 'no connection was reset');
  const f = r.faults[0]!;
  t.ok(f.detectionMs.count > 0, `pairs noticed the drop (${f.detectionMs.count})`);
  // an RST would be noticed at the node's next message (<= pollingQueueWait 2 s after expiry);
  // a silent drop only when the tentacle's 5 s receive timeout runs out
  t.ok((f.detectionMs.p50 ?? 0) >= 2_500, `noticed late, by the receive timeout (p50 ${f.detectionMs.p50} ms)`);
  t.match(renderConsoleResult(r), /detection p50 \d/, 'the report shows the detection time');
  t.ok(r.diagnosis.some((d) => d.includes('dropped silently (no RST')), `the diagnosis says silent drop: ${r.diagnosis.join(' | ')}`);
});
