import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import { HARNESS_DEFAULTS } from '../scenario/defaults.js';
import type { HarnessProcess, HarnessResult, HarnessWorker } from '../result/result.js';
import { maxOf } from '../core/numbers.js';

/**
 * The harness's own health, measured in the process that runs it: event-loop delay
 * (perf_hooks.monitorEventLoopDelay, p50/p99/max in ms: how late a timer of `resolutionMs`
 * fired; sampled every ~10-20 ms, so a lag shorter than that can be missed) and CPU share (process.cpuUsage over the
 * wall time between start and stop: of one core, and of all the machine's cores). process.cpuUsage() is the
 * whole process's, every thread included: with fleet worker threads see withWorkerLoops().
 * Numbers only: judging them is the verdict's job (src/verdict/diagnose.ts).
 */
export type ProcessHealth = HarnessProcess;

export class HarnessMonitor {
  private histogram: IntervalHistogram | null = null;
  /** From markSteady(): the loop while the fleet is held (the ramp's handshakes left out). */
  private steady: IntervalHistogram | null = null;
  private startedAt = 0;
  private cpuAtStart: NodeJS.CpuUsage | null = null;

  constructor(private readonly resolutionMs: number = HARNESS_DEFAULTS.loopResolutionMs) {}

  start(): void {
    if (this.histogram) return;
    this.histogram = monitorEventLoopDelay({ resolution: this.resolutionMs });
    this.histogram.enable();
    this.startedAt = performance.now();
    this.cpuAtStart = process.cpuUsage();
  }

  /** The ramp is over: measure the loop from now on as well (steadyLoopDelayMs). Once; no-op when not running. */
  markSteady(): void {
    if (!this.histogram || this.steady) return;
    this.steady = monitorEventLoopDelay({ resolution: this.resolutionMs });
    this.steady.enable();
  }

  /** Stop and return the figures since start (null when never started). */
  stop(): ProcessHealth | null {
    const h = this.histogram;
    if (!h || !this.cpuAtStart) return null;
    h.disable();
    this.histogram = null;
    const steady = this.steady;
    steady?.disable();
    this.steady = null;
    const wallMs = performance.now() - this.startedAt;
    const cpu = process.cpuUsage(this.cpuAtStart);
    const cpuShare = wallMs > 0 ? (cpu.user + cpu.system) / 1000 / wallMs : 0;
    return {
      loopDelayMs: this.lag(h),
      ...(steady ? { steadyLoopDelayMs: this.lag(steady) } : {}),
      cpuShare: round(cpuShare, 3),
      cpuCores: round(cpuShare / Math.max(1, availableParallelism()), 3),
    };
  }

  /** The histogram holds whole timer intervals (the resolution plus the lag): report the lag. */
  private lag(h: IntervalHistogram): LoopDelay {
    const measured = h.count > 0;
    const ms = (ns: number) => round(Math.max(0, ns / 1e6 - this.resolutionMs));
    return { p50: measured ? ms(h.percentile(50)) : null, p99: measured ? ms(h.percentile(99)) : null, max: measured ? ms(h.max) : null };
  }
}

type LoopDelay = HarnessProcess['loopDelayMs'];

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export interface HarnessLimits {
  loopDelayP99LimitMs: number;
  cpuShareLimit: number;
}

/**
 * Which of the fleet's figures passed its limit, in words (empty: its timings can be
 * trusted). Pure; the diagnosis and the Result's `harness.saturated` both come from it.
 */
export function harnessSaturation(fleet: HarnessProcess, limits: HarnessLimits = HARNESS_DEFAULTS): string[] {
  const reasons: string[] = [];
  const p99 = fleet.loopDelayMs.p99;
  if (p99 !== null && p99 > limits.loopDelayP99LimitMs) {
    reasons.push(`the fleet's own event loop lagged ${Math.round(p99)} ms at p99 (limit ${limits.loopDelayP99LimitMs} ms)`);
  }
  // With worker threads cpuShare is every thread's (it can pass 1): judged per core the threads can use.
  const cores = fleet.usableCores ?? 1;
  if (fleet.cpuShare / cores > limits.cpuShareLimit) {
    reasons.push(
      cores > 1
        ? `the fleet process used ${Math.round((fleet.cpuShare / cores) * 100)} % of each of the ${cores} cores its threads can use (limit ${Math.round(limits.cpuShareLimit * 100)} %)`
        : `the fleet process used ${Math.round(fleet.cpuShare * 100)} % of one core (limit ${Math.round(limits.cpuShareLimit * 100)} %)`,
    );
  }
  return reasons;
}

/**
 * The fleet's figures when its tentacles run in worker threads (fleet.workers > 1): the loop
 * delay is the worst of the main thread's and every worker's (each figure on its own), the CPU
 * share stays the process's -- process.cpuUsage() counts every thread of the process already --
 * and `usableCores` (main thread + workers, at most the machine's cores) is what the CPU rule
 * divides it by. Without workers the figures are returned as they are.
 */
export function withWorkerLoops(main: HarnessProcess, workers: HarnessWorker[], cores: number = availableParallelism()): HarnessProcess {
  if (workers.length === 0) return main;
  const worst = (all: (LoopDelay | undefined)[]): LoopDelay => {
    const of = (k: keyof LoopDelay) => {
      const v = all.map((d) => d?.[k] ?? null).filter((x): x is number => x !== null);
      return v.length > 0 ? maxOf(v, 0) : null;
    };
    return { p50: of('p50'), p99: of('p99'), max: of('max') };
  };
  const steady = main.steadyLoopDelayMs ? { steadyLoopDelayMs: worst([main.steadyLoopDelayMs, ...workers.map((w) => w.steadyLoopDelayMs)]) } : {};
  return { ...main, loopDelayMs: worst([main.loopDelayMs, ...workers.map((w) => w.loopDelayMs)]), ...steady, usableCores: Math.max(1, Math.min(1 + workers.length, cores)) };
}

/** The Result's harness block from the fleet's figures (and the nodes', when reported; and each fleet worker's, when there are any). */
export function harnessResult(fleet: HarnessProcess, nodes: Record<string, HarnessProcess> | null = null, workers: HarnessWorker[] = []): HarnessResult {
  const reasons = harnessSaturation(fleet);
  return { fleet, nodes, saturated: reasons.length > 0, reasons, ...(workers.length > 0 ? { workers } : {}) };
}
