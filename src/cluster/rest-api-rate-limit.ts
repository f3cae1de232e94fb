import type http from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * The embedded REST API's optional rate limit (scenario `cluster.apiRateLimit`), so that a
 * registration against a throttling server (Octopus Server 2026.3+ rate-limits its REST
 * API by default, answering HTTP 429 with Retry-After) is tested over real HTTP.
 *
 * A token bucket per node: `burst` requests at once, refilled at `requestsPerSecond`. A
 * request that finds the bucket empty gets 429 with `Retry-After: <whole seconds>` (the
 * time until a token is back, at least 1 s: the header carries whole seconds only).
 */
export interface ApiRateLimit {
  /** Sustained requests per second a node serves. */
  requestsPerSecond: number;
  /** Requests served at once before the limit applies (bucket size, at least 1). */
  burst: number;
}

export class RestApiRateLimiter {
  readonly #limit: ApiRateLimit;
  readonly #clock: () => number;
  #tokens: number;
  #lastMs: number;
  /** Requests answered 429 so far. */
  refused = 0;

  constructor(limit: ApiRateLimit, clock: () => number = () => performance.now()) {
    this.#limit = { requestsPerSecond: limit.requestsPerSecond, burst: Math.max(1, Math.floor(limit.burst)) };
    this.#clock = clock;
    this.#tokens = this.#limit.burst;
    this.#lastMs = clock();
  }

  /** Take a token: null when the request may go ahead, else the seconds to send in Retry-After. */
  take(): number | null {
    const t = this.#clock();
    this.#tokens = Math.min(this.#limit.burst, this.#tokens + ((t - this.#lastMs) / 1000) * this.#limit.requestsPerSecond);
    this.#lastMs = t;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return null;
    }
    this.refused++;
    return Math.max(1, Math.ceil((1 - this.#tokens) / this.#limit.requestsPerSecond));
  }
}

/** The 429 answer, in the JSON error shape the API uses for every refusal. */
export function sendTooManyRequests(res: http.ServerResponse, retryAfterSeconds: number): void {
  const text = JSON.stringify({ ErrorMessage: `Too many requests: try again in ${retryAfterSeconds} s.`, Errors: [] });
  res.writeHead(429, {
    'Retry-After': String(retryAfterSeconds),
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
