import t from 'tap';
import { runSmall, smallScenario } from '../../helpers/run.js';

// Tentacle 0 polls node1 and node2 only: node3's work for it is never collected and expires.
t.test('a tentacle that polls 2 of 3 nodes: node3 work expires, verdict fails, diagnosis names node3', async (t) => {
  const result = await runSmall(
    smallScenario({
      name: 'partial',
      fleet: { tentacles: 5, rampUp: '1s', overrides: [{ tentacles: 0, nodes: ['node1', 'node2'] }] },
      timeouts: { pollingQueueWait: '2s', pollingRequestQueueTimeout: '3s' },
      duration: '7s',
    }),
    t.testdir(),
  );
  const [n1, n2, n3] = result.nodes;
  t.equal(n3?.name, 'node3');
  t.ok((n3?.requests?.expired ?? 0) > 0, `node3 expired ${n3?.requests?.expired}`);
  t.equal(n1?.requests?.expired, 0, 'node1 nothing expired');
  t.equal(n2?.requests?.expired, 0, 'node2 nothing expired');
  t.equal(n3?.polledBy, 4, 'node3 polled by 4 of 5 tentacles');
  t.equal(n1?.polledBy, 5);
  t.equal(n2?.polledBy, 5);
  t.equal(n3?.connectedTentacles, 4);
  t.equal(result.summary.pairs, 15);
  t.equal(result.summary.coveredPairs, 14);
  t.ok(Math.abs(result.summary.coverage.final - 14 / 15) < 1e-3, `coverage final (rounded) ${result.summary.coverage.final} == 14/15`);
  t.ok((result.summary.requests?.expired ?? 0) > 0);
  t.equal(result.verdict.pass, false, 'verdict fails');
  t.ok(result.verdict.reasons.length > 0, 'verdict says why');
  t.ok(result.diagnosis.some((d) => /\bnode3\b/.test(d)), `a diagnosis sentence names node3: ${JSON.stringify(result.diagnosis)}`);
  t.notOk(result.diagnosis.some((d) => /\bnode1\b/.test(d) && !/\bnode3\b/.test(d)), 'no sentence blames node1 alone');
});
