import { request, type Dispatcher } from 'undici';
import { PollfleetError, describeError } from '../core/errors.js';
import { redact as redactSecrets, redactText } from '../core/redact.js';
import { renderPrometheus } from '../report/render-prometheus.js';
import type { Result } from '../result/result.js';
import { CHECK_DEFAULTS } from '../scenario/defaults.js';

/**
 * Push metrics.prom text to a Prometheus Pushgateway under job "pollfleet" and one
 * instance (the scenario name, usually), replacing that group's previous metrics (PUT) or
 * adding to them (POST).
 */

export interface PushOptions {
  /** Pushgateway base URL, e.g. http://pushgateway:9091 */
  url: string;
  /** Grouping key value for `instance`. */
  instance: string;
  /** metrics.prom text (renderPrometheus output). */
  body: string;
  /** Whole request, connect to last byte. A named setting passed in by the caller. */
  timeoutMs: number;
  method?: 'PUT' | 'POST';
  job?: string;
  /** For tests or proxies. */
  dispatcher?: Dispatcher;
}

export interface PushResult {
  url: string;
  status: number;
}

/** Pushgateway grouping-key path segment: values with '/' (or empty) use base64url. */
export function groupingSegment(label: string, value: string): string {
  if (value === '' || value.includes('/')) return `${label}@base64/${Buffer.from(value, 'utf8').toString('base64url') || '='}`;
  return `${label}/${encodeURIComponent(value)}`;
}

export function pushgatewayUrl(base: string, job: string, instance: string): string {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new PollfleetError('input.invalid', `Pushgateway URL '${base}' is not a URL: expected e.g. http://pushgateway:9091`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new PollfleetError('input.invalid', `Pushgateway URL '${base}' must start with http:// or https://`);
  }
  const path = u.pathname.replace(/\/+$/, '');
  u.pathname = `${path}/metrics/${groupingSegment('job', job)}/${groupingSegment('instance', instance)}`;
  u.search = '';
  u.hash = '';
  return u.toString();
}

export async function pushMetrics(o: PushOptions): Promise<PushResult> {
  const url = pushgatewayUrl(o.url, o.job ?? 'pollfleet', o.instance);
  const shown = redact(url);
  let status: number;
  let text: string;
  try {
    const res = await request(url, {
      method: o.method ?? 'PUT',
      body: o.body,
      headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
      signal: AbortSignal.timeout(o.timeoutMs),
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (e) {
    const why = (e as Error)?.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : (e as Error)?.message ?? String(e);
    throw new PollfleetError('api.error', `could not push metrics to the Pushgateway at ${shown}: ${why}`, { cause: e });
  }
  if (status < 200 || status >= 300) {
    throw new PollfleetError('api.error', `the Pushgateway at ${shown} answered ${status}: ${text.trim().slice(0, 300) || '(empty body)'}`, {
      hint: status === 400 ? 'the Pushgateway rejected the metrics text; another job may push the same metric names with different HELP or TYPE' : undefined,
    });
  }
  return { url: shown, status };
}

/** Check a Pushgateway base URL given on the command line (bad input, exit 2, before the run). */
export function checkPushgatewayUrl(base: string): void {
  pushgatewayUrl(base, 'pollfleet', 'check');
}

/**
 * Push a finished run's metrics.prom under instance = scenario name. Returns whether it was
 * pushed; a failure is a warning on stderr and never changes the exit code (the verdict's).
 */
export async function pushRunMetrics(url: string | null, result: Result, stderr: NodeJS.WritableStream, dispatcher?: Dispatcher): Promise<boolean> {
  if (url === null) return false;
  try {
    await pushMetrics({ url, instance: result.name, body: renderPrometheus(redactSecrets(result)), timeoutMs: CHECK_DEFAULTS.pushgatewayTimeoutMs, ...(dispatcher ? { dispatcher } : {}) });
    return true;
  } catch (e) {
    const why = e instanceof PollfleetError ? describeError(e) : (e as Error).message;
    stderr.write(redactText(`pollfleet: warning: ${why} (the exit code is unchanged)\n`));
    return false;
  }
}

/** Never print credentials embedded in a URL (not even the user name, unlike core/redact.ts). */
function redact(url: string): string {
  const u = new URL(url);
  if (u.username || u.password) {
    u.username = '***';
    u.password = '';
  }
  return u.toString();
}
