import t from 'tap';
import { FaultAnalyzer } from '../../src/metrics/fault-analysis.js';
import { Recorder } from '../../src/metrics/recorder.js';
import { buildResult } from '../../src/metrics/result-builder.js';
import { DurationHistogram } from '../../src/result/histogram.js';
import { parseResultDocument } from '../../src/result/read-result-file.js';
import { RESULT_SCHEMA_VERSION, type Quantiles, type Result } from '../../src/result/result.js';

// Every distribution in a built Result carries its encoded histogram (so Results merge
// exactly), and a built Result survives JSON and the schema unchanged. Synthetic events only.

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const NODES = ['node1', 'node2'];

/** Every Quantiles-bearing object in a document, by path. */
function quantilesIn(doc: unknown, path = ''): Map<string, Quantiles> {
  const found = new Map<string, Quantiles>();
  const walk = (v: unknown, p: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${p}[${i}]`));
    else if (v && typeof v === 'object') {
      if ('p50' in v && 'count' in v) found.set(p, v as Quantiles);
      for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    }
  };
  walk(doc, path);
  return found;
}

t.test('a built Result keeps every histogram encoded', async (t) => {
  const rec = new Recorder(
    { tentacles: 1, nodeNames: NODES, pairSource: 'tentacle', entryNode: (_t, e) => e, queueGroups: [[0], [1]], stalenessMs: 5000 },
    T0,
  );
  const faults = new FaultAnalyzer({
    faults: [{ name: 'crash@node2', action: 'crash', target: 'node2', node: 'node2', forMs: 1000, blocksTarget: true, losesQueuedWork: true }],
    nodeNames: NODES,
    tentacles: 1,
    entryNodes: () => [0, 1],
    isConnected: () => true,
    runStartedAt: T0,
    backoff: 'shortened',
    receiveRequestTimeoutMs: 1000,
    pollingRequestQueueTimeoutMs: 2000,
  });
  const record = rec.sinkWith(faults.record);
  record({ type: 'registration', at: T0 + 10, tentacle: 0, ok: true, durationMs: 40 });
  for (const entry of [0, 1]) {
    const c = { tentacle: 0, entry, conn: entry };
    record({ type: 'connect-start', at: T0 + 100, ...c });
    record({ type: 'tcp-connected', at: T0 + 101, ...c, durationMs: 0.4 });
    record({ type: 'tls-done', at: T0 + 110, ...c, durationMs: 9, protocol: 'TLSv1.3', cipher: 'x', peerThumbprint: 'x' });
    record({ type: 'identified', at: T0 + 112, ...c });
    record({ type: 'polled', at: T0 + 600, ...c, kind: 'null' });
    record({ type: 'polled', at: T0 + 1100, ...c, kind: 'null' });
    const node = NODES[entry]!;
    record({ type: 'request-queued', at: T0 + 590, node, requestKey: 1, subscription: 'poll://t0/', service: 's' });
    record({ type: 'request-dispatched', at: T0 + 600, node, owner: node, requestKey: 1, subscription: 'poll://t0/', enqueuedAt: T0 + 590 });
  }
  rec.sample(T0 + 1000, 'steady');
  faults.started(0, T0 + 1200);
  record({ type: 'closed', at: T0 + 1203, tentacle: 0, entry: 1, conn: 1, reason: 'error', wasIdentified: true, errorKind: 'tcp.reset' });
  record({ type: 'connect-start', at: T0 + 1500, tentacle: 0, entry: 1, conn: 2 });
  faults.ended(0, T0 + 2200);
  record({ type: 'identified', at: T0 + 2300, tentacle: 0, entry: 1, conn: 2 });
  rec.sample(T0 + 2000, 'fault');
  rec.sample(T0 + 3000, 'steady');

  const built = buildResult(rec, {
    name: 'encoded', route: 'direct', queue: 'per-node', target: 'embedded', balancer: null, scenario: {}, shortened: [], toolVersion: 'test',
    startedAt: T0, finishedAt: T0 + 3000, finalAt: T0 + 3000, interrupted: false,
    nodes: NODES.map((name) => ({ name, address: '127.0.0.1:1', apiUrl: null })), nodeSideMeasured: true,
  });
  const result: Result = { ...built, faults: faults.results(rec.timeline), diagnosis: [], thresholds: [], verdict: { pass: true, reasons: [] } };
  t.equal(result.schemaVersion, RESULT_SCHEMA_VERSION);

  const all = quantilesIn(result);
  t.same(
    [...all.keys()].sort(),
    [
      'faults[0].detectionMs', 'faults[0].recoveryMs',
      'nodes[0].pickupMs', 'nodes[1].pickupMs',
      'summary.handshakeMs.identify', 'summary.handshakeMs.tcp', 'summary.handshakeMs.tls',
      'summary.pickupMs', 'summary.pollGapMs', 'summary.registrationMs',
    ],
    'every distribution of a Result',
  );
  for (const [path, q] of all) {
    t.ok(q.count > 0, `${path} measured`);
    t.type(q.histogram, 'string', `${path} encoded`);
    t.equal(new DurationHistogram(q.histogram!).count, q.count, `${path} decodes to its count`);
  }

  const back = parseResultDocument(JSON.parse(JSON.stringify(result)), 'result.json');
  t.same(back, result, 'JSON and the schema give the same Result back');
});
