import t from 'tap';
import { PollfleetError } from '../../src/core/errors.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { GCP_NO_LAYER7 } from '../../src/scenario/balancer-presets.js';
import { spawnCli } from '../helpers/run.js';

function scenario(route: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return scenarioFromObject({ route, cluster: { nodes: 2, pollingPort: 0 }, fleet: { tentacles: 2 }, duration: '5s', ...extra }, 'test');
}

function loadError(fn: () => unknown): PollfleetError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PollfleetError) return e;
    throw e;
  }
  throw new Error('expected a PollfleetError, nothing was thrown');
}

t.test('azure-lb: 4 min idle timeout, silent drop, Azure health probe, flows kept on unhealthy', async (t) => {
  const s = scenario({ kind: 'nlb-unique-port', preset: 'azure-lb' });
  t.equal(s.route.nlb.idleTimeoutMs, 240_000);
  t.equal(s.route.nlb.onIdle, 'silent-drop');
  t.equal(s.route.nlb.healthCheck.protocol, 'tcp');
  t.equal(s.route.nlb.healthCheck.intervalMs, 5_000);
  t.equal(s.route.nlb.onUnhealthy, 'drain');
  t.equal(s.route.preset?.name, 'azure-lb');
  t.ok(s.route.preset?.set.includes('nlb.idleTimeout 4m'), `--plan lists what it set: ${s.route.preset?.set.join('; ')}`);
  t.same(s.shortened, [], 'the preset\'s own defaults are not "shortened"');
});

t.test('azure-lb with tcpReset: true resets both ways at idle expiry', async (t) => {
  const s = scenario({ kind: 'single-address', preset: 'azure-lb', nlb: { tcpReset: true } });
  t.equal(s.route.nlb.onIdle, 'reset');
});

t.test('aws-nlb: 350 s with RST on the next packet; aws-alb: 60 s', async (t) => {
  const nlb = scenario({ kind: 'nlb-unique-port', preset: 'aws-nlb' });
  t.equal(nlb.route.nlb.idleTimeoutMs, 350_000);
  t.equal(nlb.route.nlb.onIdle, 'reset-next-packet');
  t.equal(nlb.route.nlb.onUnhealthy, 'reset');
  t.equal(nlb.route.nlb.healthCheck.intervalMs, 30_000);
  t.equal(nlb.route.nlb.healthCheck.timeoutMs, 10_000);
  const alb = scenario({ kind: 'alb', preset: 'aws-alb' });
  t.equal(alb.route.alb.idleTimeoutMs, 60_000);
  t.equal(alb.route.alb.healthCheck.protocol, 'http');
});

t.test('explicit fields override the preset (and are labelled shortened against the preset\'s real value)', async (t) => {
  const s = scenario({ kind: 'nlb-unique-port', preset: 'azure-lb', nlb: { idleTimeout: '5s', healthCheck: { interval: '2s' } } });
  t.equal(s.route.nlb.idleTimeoutMs, 5_000, 'the scenario\'s idle timeout wins');
  t.equal(s.route.nlb.healthCheck.intervalMs, 2_000, 'the scenario\'s interval wins');
  t.equal(s.route.nlb.healthCheck.timeoutMs, 5_000, 'the preset fills the rest of the health check');
  t.equal(s.route.nlb.onIdle, 'silent-drop', 'the preset still sets what the scenario leaves out');
  t.notOk(s.route.preset?.set.some((x) => x.startsWith('nlb.idleTimeout')), 'the overridden field is not listed as set by the preset');
  t.ok(s.shortened.includes('nlb.idleTimeout 5s (real 4m)'), `shortened against Azure's 4 min: ${s.shortened.join(', ')}`);
});

t.test('a real balancer carries only what it can: the rest is left out and said so', async (t) => {
  const s = scenario({ kind: 'nlb-unique-port', preset: 'azure-lb', balancer: 'haproxy' });
  t.equal(s.route.realBalancer.idleTimeoutMs, 240_000, 'haproxy gets the idle timeout');
  t.ok(s.route.preset?.set.some((x) => x.startsWith('left out (haproxy cannot carry them)') && x.includes('nlb.onIdle')), s.route.preset?.set.join('; ') ?? '');
  t.equal(scenario({ kind: 'sni-passthrough', preset: 'nginx' }).route.balancer, 'nginx', 'preset nginx runs a real nginx');
});

t.test('octopus-cloud: sni-passthrough with one name for every node', async (t) => {
  const s = scenario({ kind: 'sni-passthrough', preset: 'octopus-cloud' });
  t.equal(s.route.sni?.layout, 'one-name');
  t.same(s.route.sni?.routes, [{ name: 'polling.example.octopus.app', nodes: ['node1', 'node2'] }]);
});

t.test('refusals: GCP has no layer-7 option, presets for the wrong route kind', async (t) => {
  t.match(loadError(() => scenario({ kind: 'alb', preset: 'gcp-network' })).message, /GCP has no layer-7 option for polling/);
  t.match(loadError(() => scenario({ kind: 'nlb-unique-port', preset: 'gcp-http' })).message, /GCP has no layer-7 option for polling/);
  t.match(loadError(() => scenario({ kind: 'alb', preset: 'azure-lb' })).message, /preset azure-lb describes a balancer for route kind single-address, nlb-unique-port, not alb/);
  t.match(loadError(() => scenario({ kind: 'nlb-unique-port', nlb: { tcpReset: true, onIdle: 'silent-drop' } })).message, /tcpReset: true means onIdle reset/);
  t.match(loadError(() => scenario({ kind: 'nlb-unique-port', balancer: 'nginx', nlb: { onIdle: 'silent-drop' } })).message, /route.nlb.onIdle/);
});

t.test('pollfleet run --plan with a GCP layer-7 preset: exit 2 with the reason; azure-lb: the plan shows what the preset set', async (t) => {
  const dir = t.testdir({
    'gcp.yaml': 'route: { kind: alb, preset: gcp-network }\ncluster: { nodes: 2, pollingPort: 0 }\n',
    'azure.yaml': 'route: { kind: nlb-unique-port, preset: azure-lb }\ncluster: { nodes: 2, pollingPort: 0 }\n',
  });
  const gcp = spawnCli(['run', `${dir}/gcp.yaml`, '--plan']);
  t.equal((await gcp.exited(30_000)).code, 2, 'exit 2');
  t.ok(gcp.stderr().includes(GCP_NO_LAYER7.slice(0, 60)), `stderr names the reason: ${gcp.stderr()}`);
  const azure = spawnCli(['run', `${dir}/azure.yaml`, '--plan']);
  t.equal((await azure.exited(30_000)).code, 0, 'exit 0');
  t.match(azure.stdout(), /preset\s+azure-lb: .*nlb\.idleTimeout 4m.*nlb\.onIdle silent-drop/);
});
