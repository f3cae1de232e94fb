import { now } from '../core/clock.js';
import type { FaultContext } from './fault-context.js';
import { faultDefinition, type FaultSpec } from './fault-registry.js';

/** What the timeline tells whoever measures it (src/metrics/fault-analysis.ts). */
export interface FaultTimelineHooks {
  started(index: number, at: number): void;
  ended(index: number, at: number): void;
  failed(index: number, message: string): void;
}

/**
 * Runs a scenario's fault timeline against the running environment. Times count from the
 * start of the steady phase (`start(steadyFrom)`); each fault is applied at its time and,
 * with `for`, undone that long after (the kind's revert); a kind that `undoes` others ends
 * them on its target (restart ends a crash). Faults run one after another in time order; an
 * action that fails is reported, not thrown (the run goes on and the Result says so).
 */
export class FaultTimeline {
  readonly #faults: FaultSpec[];
  readonly #ctx: FaultContext;
  readonly #hooks: FaultTimelineHooks;
  readonly #timers = new Set<NodeJS.Timeout>();
  #active = 0;
  /** Faults without `for` that a later action will undo. */
  readonly #awaitingUndo = new Set<number>();
  #endedAny = false;
  #isRecovering = false;
  #stopped = false;
  /** Applies and reverts run one at a time, in the order they were due. */
  #chain: Promise<void> = Promise.resolve();

  constructor(faults: FaultSpec[], ctx: FaultContext, hooks: FaultTimelineHooks) {
    this.#faults = faults;
    this.#ctx = ctx;
    this.#hooks = hooks;
  }

  /** Schedule every fault relative to `steadyFrom` (epoch ms, src/core/clock.ts). */
  start(steadyFrom: number): void {
    const base = steadyFrom - now();
    this.#faults.forEach((f, i) => {
      this.#after(base + f.atMs, () => this.#apply(f, i));
    });
  }

  /** The run phase the faults imply: 'fault' while one is active, 'recovering' after one until coverage is whole again. */
  phase(coverage: number): 'fault' | 'recovering' | null {
    if (this.#active > 0) return 'fault';
    if (this.#isRecovering && coverage >= 1) this.#isRecovering = false;
    return this.#isRecovering ? 'recovering' : null;
  }

  /** Cancel what has not run yet. Faults in force stay (the environment's stop cleans up). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await this.#chain;
  }

  #after(ms: number, fn: () => Promise<void>): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (this.#stopped) return;
      this.#chain = this.#chain.then(fn);
    }, Math.max(0, ms));
    this.#timers.add(t);
  }

  async #apply(f: FaultSpec, i: number): Promise<void> {
    if (this.#stopped) return;
    const def = faultDefinition(f.action);
    this.#ctx.log(`fault ${f.name}: ${f.action} ${f.targetText}${f.forMs !== null ? ` for ${f.forMs} ms` : ''}`);
    const at = now();
    // a fault with `for` ends when it is undone; one without, that a later action undoes (crash ... restart), ends then
    const lasting = def.revert !== undefined && (f.forMs !== null || this.#isUndoneLater(f, i));
    if (lasting) this.#active++;
    this.#hooks.started(i, at);
    try {
      await def.apply(f, this.#ctx);
    } catch (e) {
      this.#hooks.failed(i, `${f.action} on ${f.targetText} failed: ${(e as Error).message}`);
    }
    this.#endUndone(f);
    if (lasting) {
      if (f.forMs !== null) this.#after(f.forMs - (now() - at), () => this.#revert(f, i));
      else this.#awaitingUndo.add(i);
    } else {
      this.#hooks.ended(i, at);
      this.#endedAny = true;
      this.#isRecovering = true;
    }
  }

  #isUndoneLater(f: FaultSpec, i: number): boolean {
    return this.#faults.some((g, j) => j > i && g.targetText === f.targetText && faultDefinition(g.action).undoes.includes(f.action));
  }

  /** `f` undoes earlier faults on its target that wait for it: they end now. */
  #endUndone(f: FaultSpec): void {
    const undoes = faultDefinition(f.action).undoes;
    if (!undoes.length) return;
    for (const j of [...this.#awaitingUndo]) {
      const g = this.#faults[j]!;
      if (g.targetText !== f.targetText || !undoes.includes(g.action)) continue;
      this.#awaitingUndo.delete(j);
      this.#active--;
      this.#hooks.ended(j, now());
      this.#endedAny = true;
      this.#isRecovering = true;
    }
  }

  async #revert(f: FaultSpec, i: number): Promise<void> {
    const def = faultDefinition(f.action);
    this.#ctx.log(`fault ${f.name}: undone`);
    try {
      await def.revert?.(f, this.#ctx);
    } catch (e) {
      this.#hooks.failed(i, `undoing ${f.action} on ${f.targetText} failed: ${(e as Error).message}`);
    }
    this.#active--;
    this.#hooks.ended(i, now());
    this.#endedAny = true;
    this.#isRecovering = true;
  }

  /** Did any fault end (so recovery can be measured)? */
  get hasEnded(): boolean {
    return this.#endedAny;
  }
}
