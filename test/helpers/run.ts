/**
 * Helpers for the run/scenario/CLI integration tests: small scenarios with shortened
 * timeouts on loopback (ports from the OS) and the CLI as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runScenario } from '../../src/run/run-scenario.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import type { Result } from '../../src/result/result.js';
import { judge } from '../../src/verdict/judge.js';
import { routeFor } from '../../src/environment/routes/route-registry.js';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_MAIN = join(PROJECT_ROOT, 'src', 'cli', 'main.ts');

/** A scenario object with test-sized settings; `over` replaces top-level sections. */
export function smallScenario(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'test',
    route: { kind: 'direct' },
    cluster: { nodes: 3, pollingPort: 0 },
    fleet: { tentacles: 5, rampUp: '1s' },
    workload: { interval: '1s' },
    timeouts: { pollingQueueWait: '2s', pollingRequestQueueTimeout: '4s' },
    duration: '5s',
    ...over,
  };
}

export async function runSmall(raw: Record<string, unknown>, workDir: string): Promise<Result> {
  const s = scenarioFromObject(raw, 'test');
  return judge(await runScenario(s, { workDir, toolVersion: 'test' }), s, [], { route: routeFor(s.route.kind).diagnosis });
}

export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Exit code (or null with the signal), bounded by `ms`. */
  exited: (ms: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `pollfleet <args>` from source (no build needed), cwd = project root. */
export function spawnCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: (ms) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`pollfleet ${args[0]} did not exit within ${ms} ms; stderr: ${err.slice(-2000)}`));
        }, ms);
        void done.then((r) => {
          clearTimeout(timer);
          resolve(r);
        });
      }),
  };
}

/** Is a process with this pid still alive? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
