import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PollfleetError } from '../../src/core/errors.js';
import { loadScenarioFile, scenarioFromObject } from '../../src/scenario/loader.js';

function loadError(fn: () => unknown): PollfleetError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PollfleetError) return e;
    throw e;
  }
  throw new Error('expected a PollfleetError, nothing was thrown');
}

const base = 'route:\n  kind: direct\ncluster:\n  nodes: 3\n  pollingPort: 0\nfleet:\n  tentacles: 5\nduration: 5s\n';

t.test('a valid file loads with defaults filled in', async (t) => {
  const dir = t.testdir({ 'ok.yaml': base });
  const loaded = loadScenarioFile(join(dir, 'ok.yaml'));
  t.equal(loaded.kind, 'scenario');
  if (loaded.kind !== 'scenario') return;
  t.equal(loaded.scenario.name, 'ok', 'name falls back to the file name');
  t.equal(loaded.scenario.cluster.nodes, 3);
  t.equal(loaded.scenario.cluster.pollingPort, 0);
  t.equal(loaded.scenario.durationMs, 5_000);
  t.equal(loaded.scenario.fleet.tentacles, 5);
});

t.test('the shipped scenarios load', async (t) => {
  for (const f of ['scenarios/direct.yaml', 'scenarios/unique-port.yaml', 'scenarios/proxy-squid.yaml', 'scenarios/proxy-inspection.yaml']) {
    const loaded = loadScenarioFile(f);
    t.equal(loaded.kind, 'scenario', f);
  }
});

const bad: { name: string; text: string; field: RegExp; file?: string }[] = [
  { name: 'unknown field', text: base + 'flet:\n  tentacles: 3\n', field: /flet: unknown field/ },
  { name: 'unknown nested field', text: base.replace('  nodes: 3\n', '  nodes: 3\n  nodez: 4\n'), field: /cluster\.nodez: unknown field/ },
  { name: 'wrong type', text: base.replace('tentacles: 5', 'tentacles: many'), field: /fleet\.tentacles/ },
  { name: 'port out of range', text: base.replace('pollingPort: 0', 'pollingPort: 70000'), field: /cluster\.pollingPort/ },
  { name: 'bad duration', text: base.replace('duration: 5s', 'duration: five seconds'), field: /duration/ },
  { name: 'a health-check path that would add a directive to the generated HAProxy config', text: base.replace('kind: direct', 'kind: nlb-unique-port\n  nlb:\n    healthCheck: { protocol: http, path: "/ping\\n    external-check command /bin/sh" }'), field: /route\.nlb\.healthCheck\.path: expected a URL path starting with \/ \(no spaces or control characters\)/ },
  { name: 'a proxy user name with a colon (Basic auth) or a line break (Squid password file)', text: base.replace('kind: direct', 'kind: proxy\n  proxy: { username: "bob:x" }'), field: /route\.proxy\.username: expected a user name without a colon/ },
  { name: 'zero duration (the run would end with the ramp and blame the tentacles)', text: base.replace('duration: 5s', 'duration: 0s'), field: /duration: expected a duration longer than 0/ },
  { name: 'unknown threshold metric', text: base + "thresholds:\n  - 'pickupMz.p99 < 5000'\n", field: /thresholds\[0\].*pickupMz/ },
  { name: 'bad YAML', text: 'route:\n  kind: direct\n   nodes: [3\n', field: /YAML/ },
];

for (const c of bad) {
  t.test(`${c.name}: scenario.invalid naming file and field`, async (t) => {
    const dir = t.testdir({ 'bad.yaml': c.text });
    const file = join(dir, 'bad.yaml');
    const e = loadError(() => loadScenarioFile(file));
    t.equal(e.kind, 'scenario.invalid');
    t.match(e.message, file, 'names the file');
    t.match(e.message, c.field, 'names the field');
  });
}

t.test('missing file: scenario.not-found', async (t) => {
  const file = join(t.testdir(), 'nope.yaml');
  const e = loadError(() => loadScenarioFile(file));
  t.equal(e.kind, 'scenario.not-found');
  t.match(e.message, file);
});

t.test('bad JSON file: scenario.invalid', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'bad.json');
  writeFileSync(file, '{"route": ');
  const e = loadError(() => loadScenarioFile(file));
  t.equal(e.kind, 'scenario.invalid');
  t.match(e.message, file);
});

t.test('scenarioFromObject validates the same way', async (t) => {
  const e = loadError(() => scenarioFromObject({ cluster: { pollingPort: 70000 } }, 'flags'));
  t.equal(e.kind, 'scenario.invalid');
  t.match(e.message, /cluster\.pollingPort/);
  const e2 = loadError(() => scenarioFromObject({ thresholds: ['nosuch.metric > 1'] }, 'flags'));
  t.equal(e2.kind, 'scenario.invalid');
  t.match(e2.message, /thresholds\[0\]/);
  const e3 = loadError(() => scenarioFromObject({ fleet: { tentacles: 5, overrides: [{ tentacles: 0, nodes: ['node9'] }] } }, 'flags'));
  t.match(e3.message, /fleet\.overrides\[0\]\.nodes.*node9/);
  const nodes = Array.from({ length: 101 }, (_, i) => ({ name: `n${i}`, polling: `octo${i}.example.com:10943` }));
  const e4 = loadError(() => scenarioFromObject({ target: 'external', external: { nodes, thumbprint: 'A'.repeat(40) } }, 'flags'));
  t.match(e4.message, /external\.nodes: at most 100 nodes/);
  // an external run outlasts a real node's 30 s queue wait by default; the embedded cluster's is shortened
  t.equal(scenarioFromObject({ target: 'external', external: { nodes: nodes.slice(0, 2), thumbprint: 'A'.repeat(40) } }, 'flags').durationMs, 60_000);
  t.equal(scenarioFromObject({}, 'flags').durationMs, 30_000);
  const ok = scenarioFromObject({ cluster: { pollingPort: 0 }, thresholds: ['pickupMs.p99 < 5s'] });
  t.same(ok.thresholds, ['pickupMs.p99 < 5s']);
});

t.test('every problem is reported at once', async (t) => {
  const dir = t.testdir({ 'bad.yaml': base.replace('pollingPort: 0', 'pollingPort: 70000') + 'flet: 1\n' });
  const e = loadError(() => loadScenarioFile(join(dir, 'bad.yaml')));
  t.match(e.message, /cluster\.pollingPort/);
  t.match(e.message, /flet/);
});

t.test('cluster.nodeBehaviour: real by default, lenient on request, nothing else', async (t) => {
  t.equal(scenarioFromObject({}).cluster.nodeBehaviour, 'real');
  t.equal(scenarioFromObject({ cluster: { nodeBehaviour: 'lenient' } }).cluster.nodeBehaviour, 'lenient');
  const e = loadError(() => scenarioFromObject({ cluster: { nodeBehaviour: 'forgiving' } }, 'flags'));
  t.match(e.message, /cluster\.nodeBehaviour/);
});

t.test('a duration past what a timer can hold is refused, in the scenario and in a fault (a longer one would fire at once)', async (t) => {
  t.equal(scenarioFromObject({ duration: '596h' }, 'flags').durationMs, 596 * 3_600_000, '596 h is the longest');
  const e = loadError(() => scenarioFromObject({ duration: '597h' }, 'flags'));
  t.match(e.message, /duration: expected at most 596h \(24\.8 days, the longest a timer can wait\), got "597h"/);
  const q = loadError(() => scenarioFromObject({ timeouts: { pollingQueueWait: 2 ** 31 } }, 'flags'));
  t.match(q.message, /timeouts\.pollingQueueWait: expected at most 596h/, 'a number of ms too');
  const f = loadError(() => scenarioFromObject({ faults: [{ at: '10s', action: 'latency', target: 'node1', latencyMs: 100, for: '999999h' }] }, 'flags'));
  t.match(f.message, /faults\[0\]\.for: expected at most 596h/);
});

t.test("a bound without a message of its own reads as ours, not zod's", async (t) => {
  t.match(loadError(() => scenarioFromObject({ fleet: { tentacles: 100_001 } }, 'flags')).message, /^flags: fleet\.tentacles: expected at most 100000$/);
  t.match(loadError(() => scenarioFromObject({ fleet: { keyPairs: 0 } }, 'flags')).message, /^flags: fleet\.keyPairs: expected at least 1$/);
  t.match(loadError(() => scenarioFromObject({ fleet: { tentacles: 0 } }, 'flags')).message, /fleet\.tentacles: expected at least 1 tentacle/, 'a field\'s own message stays');
});

t.test('a scenario name longer than a run folder name can be is refused naming the field', async (t) => {
  t.equal(scenarioFromObject({ name: 'a'.repeat(100) }, 'flags').name, 'a'.repeat(100));
  t.match(loadError(() => scenarioFromObject({ name: 'a'.repeat(101) }, 'flags')).message, /^flags: name: expected at most 100 characters \(it names the run folder\)$/);
});
