/**
 * The contract every network fault ("toxic", as Toxiproxy calls them) follows. A toxic is
 * one stage in one direction of one proxied connection: it takes chunks and passes them
 * on -- now, later, in pieces, or never. Targeting (which connections, which direction)
 * lives in the proxy (src/network/toxics/fault-proxy.ts), not here.
 *
 * Rules for authors (one file per kind, one line in registry.ts, one test):
 * - `write` never throws; data it holds back is handed on by `dispose` (in order) unless
 *   the toxic's whole point is to lose it (blackhole).
 * - A zero-length chunk marks the end of the stream (the peer's FIN): pass it on like any
 *   other chunk, in order, so the end is delayed or swallowed exactly as data is.
 * - Every timer is cancelled by `dispose`; after dispose, `next` is never called again.
 * - Closing or resetting the connection goes through the LinkControl, never the sockets.
 */

/** Parameters every toxic may read (resolved from the scenario; unused ones are 0). */
export interface ToxicParams {
  latencyMs: number;
  jitterMs: number;
  bytesPerSec: number;
  sliceBytes: number;
  sliceDelayMs: number;
  limitBytes: number;
}

/** What a toxic may do to the whole connection. */
export interface LinkControl {
  /** RST both sides now (a real TCP reset, as a balancer sends it). */
  reset(): void;
  /** Close both sides normally (FIN). */
  close(): void;
}

export type Next = (chunk: Buffer) => void;

export interface ToxicStage {
  write(chunk: Buffer, next: Next): void;
  /** The toxic is removed (or the connection closes): hand on what was held back, cancel timers. */
  dispose(next: Next): void;
}

export const TOXIC_KINDS = ['latency', 'bandwidth', 'blackhole', 'reset', 'slice', 'limit-data'] as const;
export type ToxicKind = (typeof TOXIC_KINDS)[number];

export interface ToxicDefinition {
  kind: ToxicKind;
  /** One line for plans and docs. */
  summary: string;
  create(params: ToxicParams, link: LinkControl): ToxicStage;
}

/** An empty stage (the start of every chain, and toxics that need no per-chunk work). */
export const passThrough: ToxicStage = {
  write: (chunk, next) => next(chunk),
  dispose: () => undefined,
};
