import { PollfleetError } from './errors.js';

/**
 * One base for everything that starts and stops (balancer simulators, fault proxies, real
 * balancers, the embedded cluster), after undici's dispatcher-base: the rules live here once,
 * a concrete class only fills in `onStart` and `onStop`.
 *
 * - `start()` is idempotent: every call before `stop()` gets the same promise.
 * - `stop()` is idempotent: every call, concurrent or later, gets the same promise. A stop
 *   during a start waits for the start to settle first, so `onStop` always sees a whole
 *   component (no listener that opens after the stop closed it). `onStop` also runs when
 *   nothing was started: it must cope with a component that never started.
 * - A start that fails stops the component (releasing whatever it got hold of) and rejects
 *   with the start's error.
 * - After `stop()`, `start()` and whatever the class guards with `refuseAfterStop` are refused
 *   with a PollfleetError of kind `lifecycle.stopped`.
 */
export type LifecycleState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/** What an owner needs of a component: start it, stop it. */
export interface StartStop<T = unknown> {
  start(): Promise<T>;
  stop(): Promise<void>;
}

export abstract class Lifecycle<T = void> implements StartStop<T> {
  /** Names the component in errors (`nlb`, `proxy-node1`, `embedded cluster`). */
  abstract readonly name: string;
  #state: LifecycleState = 'new';
  #started: Promise<T> | undefined;
  /** The start hook settling, success or failure: what a stop waits for. */
  #startSettled: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;

  /** Acquire: listen, spawn, connect. Called once. */
  protected abstract onStart(): Promise<T>;
  /** Release everything; called once, also after a failed or a missing start. */
  protected abstract onStop(): Promise<void>;

  get state(): LifecycleState {
    return this.#state;
  }

  /** stop() has been called (the component is stopping or stopped). */
  get isStopping(): boolean {
    return this.#stopped !== undefined;
  }

  start(): Promise<T> {
    if (this.#stopped) return Promise.reject(this.stoppedError('start'));
    this.#started ??= this.#runStart();
    return this.#started;
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#runStop();
    return this.#stopped;
  }

  /** Throw the typed refusal when stop() has been called; for operations that make no sense after it. */
  protected refuseAfterStop(operation: string): void {
    if (this.#stopped) throw this.stoppedError(operation);
  }

  protected stoppedError(operation: string): PollfleetError {
    return new PollfleetError('lifecycle.stopped', `${this.name}: already stopped (${operation} refused)`);
  }

  async #runStart(): Promise<T> {
    this.#state = 'starting';
    let attempt: Promise<T>;
    try {
      attempt = this.onStart();
    } catch (e) {
      attempt = Promise.reject(e);
    }
    this.#startSettled = attempt.then(noop, noop);
    let result: T;
    try {
      result = await attempt;
    } catch (e) {
      await this.stop().catch(noop);
      throw e;
    }
    if (this.#state === 'starting') this.#state = 'running';
    return result;
  }

  async #runStop(): Promise<void> {
    this.#state = 'stopping';
    await this.#startSettled;
    try {
      await this.onStop();
    } finally {
      this.#state = 'stopped';
    }
  }
}

function noop(): void {}
