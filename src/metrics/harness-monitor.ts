import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import { HARNESS_DEFAULTS } from '../scenario/defaults.js';
import type { HarnessProcess, HarnessResult } from '../result/result.js';

/**
 * The harness's own health, measured in the process that runs it: event-loop delay
 * (perf_hooks.monitorEventLoopDelay, p50/p99/max in ms: how late a timer of `resolutionMs`
 * fired; sampled every ~10-20 ms, so a lag shorter than that can be missed) and CPU share (process.cpuUsage over the
 * wall time between start and stop: of one core, and of all the machine's cores).
 * Numbers only: judging them is the verdict's job (src/verdict/diagnose.ts).
 */
export type ProcessHealth = HarnessProcess;

export class HarnessMonitor {
  private histogram: IntervalHistogram | null = null;
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

  /** Stop and return the figures since start (null when never started). */
  stop(): ProcessHealth | null {
    const h = this.histogram;
    if (!h || !this.cpuAtStart) return null;
    h.disable();
    this.histogram = null;
    const wallMs = performance.now() - this.startedAt;
    const cpu = process.cpuUsage(this.cpuAtStart);
    const cpuShare = wallMs > 0 ? (cpu.user + cpu.system) / 1000 / wallMs : 0;
    const measured = h.count > 0;
    // The histogram holds whole timer intervals (the resolution plus the lag): report the lag.
    const ms = (ns: number) => round(Math.max(0, ns / 1e6 - this.resolutionMs));
    return {
      loopDelayMs: {
        p50: measured ? ms(h.percentile(50)) : null,
        p99: measured ? ms(h.percentile(99)) : null,
        max: measured ? ms(h.max) : null,
      },
      cpuShare: round(cpuShare, 3),
      cpuCores: round(cpuShare / Math.max(1, availableParallelism()), 3),
    };
  }
}

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
  if (fleet.cpuShare > limits.cpuShareLimit) {
    reasons.push(`the fleet process used ${Math.round(fleet.cpuShare * 100)} % of one core (limit ${Math.round(limits.cpuShareLimit * 100)} %)`);
  }
  return reasons;
}

/** The Result's harness block from the fleet's figures (and the nodes', when reported). */
export function harnessResult(fleet: HarnessProcess, nodes: Record<string, HarnessProcess> | null = null): HarnessResult {
  const reasons = harnessSaturation(fleet);
  return { fleet, nodes, saturated: reasons.length > 0, reasons };
}
