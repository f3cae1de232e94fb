import t from 'tap';
import { now } from '../../src/core/clock.js';
import { balancerOf, FaultError, type FaultBalancer, type FaultCluster, type FaultContext } from '../../src/faults/fault-context.js';
import type { FaultSpec } from '../../src/faults/fault-registry.js';
import { FaultTimeline, type FaultTimelineHooks } from '../../src/faults/fault-timeline.js';

/**
 * The fault timeline against a fake environment (no sockets, no processes): what it
 * applies and reverts, in which order, what ends when, and the phase it implies.
 */

function spec(action: FaultSpec['action'], node: string, atMs: number, forMs: number | null = null, name = `${action}@${node}`): FaultSpec {
  return { name, action, target: { kind: 'node', node }, targetText: node, atMs, forMs } as FaultSpec;
}

function fakeEnv(balancer: FaultBalancer | null = null) {
  const calls: string[] = [];
  const hooks: string[] = [];
  const failures: string[] = [];
  const cluster: FaultCluster = {
    crash: (n) => void calls.push(`crash ${n}`),
    hang: (n, on) => void calls.push(`${on ? 'hang' : 'resume'} ${n}`),
    stopNode: async (n) => void calls.push(`stop ${n}`),
    startNode: async (n) => void calls.push(`start ${n}`),
    setDraining: (n, on) => void calls.push(`${on ? 'drain' : 'undrain'} ${n}`),
  };
  const ctx: FaultContext = { cluster, balancer, proxies: null, state: new Map(), log: () => undefined };
  const timeline = (faults: FaultSpec[], extra: Partial<FaultTimelineHooks> = {}) =>
    new FaultTimeline(faults, ctx, {
      started: (i) => {
        hooks.push(`started ${faults[i]!.name}`);
        extra.started?.(i, now());
      },
      ended: (i) => {
        hooks.push(`ended ${faults[i]!.name}`);
        extra.ended?.(i, now());
      },
      failed: (i, message) => {
        failures.push(`${faults[i]!.name}: ${message}`);
      },
    });
  return { calls, hooks, failures, timeline };
}

/** Wait (bounded) until `check` holds. */
async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('faults apply in time order, counted from the start of the steady phase', async (t) => {
  const env = fakeEnv();
  const faults = [spec('drain', 'node3', 40), spec('crash', 'node1', 0), spec('hang', 'node2', 20)];
  const tl = env.timeline(faults);
  tl.start(now() + 10);
  await until(() => env.calls.length === 3, 'three faults applied');
  t.same(env.calls, ['crash node1', 'hang node2', 'drain node3']);
  t.same(env.hooks, ['started crash@node1', 'ended crash@node1', 'started hang@node2', 'ended hang@node2', 'started drain@node3', 'ended drain@node3'], 'without for and without a later undo, a fault ends when applied');
  await tl.stop();
});

t.test('`for` reverts the fault that long after it started; the phase is fault, then recovering until coverage is whole', async (t) => {
  const env = fakeEnv();
  const phases: Array<string | null> = [];
  const faults = [spec('crash', 'node2', 0, 60)];
  const tl = env.timeline(faults, { started: () => void phases.push(tl.phase(1)) });
  t.equal(tl.phase(1), null, 'no phase before any fault');
  const startedAt = now();
  tl.start(startedAt);
  await until(() => env.calls.length === 1, 'crash applied');
  t.equal(tl.phase(1), 'fault', 'fault while it is in force');
  await until(() => env.hooks.includes('ended crash@node2'), 'crash reverted');
  t.ok(now() - startedAt >= 55, 'reverted after `for`');
  t.same(env.calls, ['crash node2', 'start node2'], 'the revert of crash starts the node again');
  t.same(phases, ['fault'], 'fault from the moment it starts');
  t.equal(tl.phase(0.9), 'recovering', 'recovering while coverage is not whole');
  t.equal(tl.phase(1), null, 'back to the caller\'s phase once coverage is whole');
  t.equal(tl.phase(0.5), null, 'and it stays there');
  t.ok(tl.hasEnded);
  await tl.stop();
});

t.test('a later kind that undoes an earlier one ends it (restart after crash, resume after hang)', async (t) => {
  const env = fakeEnv();
  const faults = [spec('crash', 'node1', 0), spec('hang', 'node2', 5), spec('restart', 'node1', 40), spec('resume', 'node2', 60)];
  const tl = env.timeline(faults);
  tl.start(now());
  await until(() => env.calls.length === 2, 'crash and hang applied');
  t.equal(tl.phase(1), 'fault', 'both are in force: they are undone later');
  t.notOk(env.hooks.some((h) => h.startsWith('ended')), 'nothing ended yet');
  await until(() => env.calls.length === 4, 'restart and resume applied');
  t.same(env.calls, ['crash node1', 'hang node2', 'start node1', 'resume node2']);
  t.same(env.hooks, [
    'started crash@node1',
    'started hang@node2',
    'started restart@node1',
    'ended crash@node1',
    'ended restart@node1',
    'started resume@node2',
    'ended hang@node2',
    'ended resume@node2',
  ]);
  t.equal(tl.phase(0.5), 'recovering');
  await tl.stop();
});

t.test('an undo on another target does not end the fault', async (t) => {
  const env = fakeEnv();
  const faults = [spec('crash', 'node1', 0), spec('restart', 'node2', 10)];
  const tl = env.timeline(faults);
  tl.start(now());
  await until(() => env.calls.length === 2, 'both applied');
  t.same(env.hooks, ['started crash@node1', 'ended crash@node1', 'started restart@node2', 'ended restart@node2'], 'crash is not undone later on its own target, so it ends when applied');
  await tl.stop();
});

t.test('stop cancels what has not run yet, including pending reverts', async (t) => {
  const env = fakeEnv();
  const faults = [spec('drain', 'node1', 0, 5_000), spec('crash', 'node2', 5_000)];
  const tl = env.timeline(faults);
  tl.start(now());
  await until(() => env.calls.length === 1, 'drain applied');
  await tl.stop();
  await new Promise((r) => setTimeout(r, 30));
  t.same(env.calls, ['drain node1'], 'neither the undrain nor the crash ran');
  t.same(env.hooks, ['started drain@node1']);
  t.equal(tl.phase(1), 'fault', 'a fault in force stays in force (the environment cleans up)');
});

t.test('an action that fails is reported on its fault with a typed reason, and the timeline goes on', async (t) => {
  const env = fakeEnv(null);
  const faults = [
    { name: 'deregister@balancer:node1', action: 'deregister', target: { kind: 'balancer-target', node: 'node1' }, targetText: 'balancer:node1', atMs: 0, forMs: null } as FaultSpec,
    spec('drain', 'node2', 10),
  ];
  const tl = env.timeline(faults);
  tl.start(now());
  await until(() => env.calls.length === 1, 'drain applied after the failure');
  t.same(env.failures, ['deregister@balancer:node1: deregister on balancer:node1 failed: deregister@balancer:node1: no layer-4 balancer simulator in the path']);
  t.ok(env.hooks.includes('ended deregister@balancer:node1'));
  await tl.stop();
});

t.test('what a fault needs and lacks is a typed error carrying the fault, its kind and target', async (t) => {
  const f = { name: 'unhealthy@balancer:node2', action: 'unhealthy', target: { kind: 'balancer-target', node: 'node2' }, targetText: 'balancer:node2', atMs: 0, forMs: null } as FaultSpec;
  const ctx = { balancer: null } as unknown as FaultContext;
  let thrown: unknown;
  try {
    balancerOf(f, ctx);
  } catch (e) {
    thrown = e;
  }
  t.ok(thrown instanceof FaultError);
  t.match(thrown, { kind: 'fault.unavailable', fault: 'unhealthy@balancer:node2', action: 'unhealthy', target: 'balancer:node2', message: 'unhealthy@balancer:node2: no layer-4 balancer simulator in the path' });
});
