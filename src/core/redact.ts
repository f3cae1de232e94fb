/**
 * The one redaction step for everything that leaves the process: the Result (and so every
 * report, metrics.prom, the history row and the Pushgateway body rendered from it), the run
 * log, the errors the CLI prints. Pure: it never reads the environment or a file.
 *
 * What it hides:
 * - the password inside any URL (`scheme://user:pass@host` -> `scheme://user:***@host`,
 *   `redis://:pw@host` -> `redis://:***@host`) and secret-named query parameters;
 * - private key material (`-----BEGIN ... PRIVATE KEY-----` blocks, also when cut off);
 * - `X-Octopus-ApiKey` header values and Octopus API keys (`API-` followed by the key);
 * - in objects, the values of fields named like a secret (apiKey, password, passphrase,
 *   secret, token) -- not fields that only name where a secret lives (apiKeyEnv, apiKeyFile,
 *   passphraseEnv);
 * - any literal `secrets` the caller knows, and every secret registered with registerSecret
 *   (the API key read from --api-key, an environment variable or a key file: hidden even
 *   where it appears without a recognisable shape).
 *
 * And what it neutralises: control characters other than tab and newline (C0, DEL, C1 -- so
 * ESC, CR, BEL) and Unicode bidi overrides become visible escapes (`\x1b`, `\u202e`). Text a
 * peer chose reaches the output -- a proxy's reason phrase, a node's error message, a
 * certificate's subject, an HTTP body -- and must not drive the user's terminal (colours,
 * titles, clipboard, a CR that overwrites "FAIL" with "ok") or reorder what a report shows.
 */
export const REDACTED = '***';

const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#]*):([^\s@/?#]*)@/gi;
const QUERY_SECRET = /([?&;](?:password|passwd|pwd|pass|apikey|api_key|api-key|token|secret|passphrase)=)[^&#\s"']*/gi;
const PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*?)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;
const API_KEY_HEADER = /(X-Octopus-ApiKey["']?\s*[:=]\s*["']?)[^\s"',;}]+/gi;
const OCTOPUS_API_KEY = /\bAPI-[A-Z0-9]{8,}\b/g;
const SECRET_FIELD = /^(?:api[-_]?key|x-octopus-apikey|password|passwd|passphrase|secret|client[-_]?secret|token|access[-_]?token|private[-_]?key)$/i;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const visible = (c: string) => {
  const n = c.charCodeAt(0);
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
};

/** Literal secrets known to this process (registerSecret), longest first when replaced. */
const registered = new Set<string>();

/**
 * Remember a secret this process has read (an API key): from now on every redaction step
 * replaces it as a literal, whatever its shape. Shorter than 4 characters: not registered
 * (it would blank out ordinary words).
 */
export function registerSecret(secret: string | null | undefined): void {
  if (secret && secret.length >= 4) registered.add(secret);
}

/** Forget the registered secrets (tests). */
export function clearRegisteredSecrets(): void {
  registered.clear();
}

/** `text` with every secret it recognises (and every one of `secrets` and the registered ones) replaced. */
export function redactText(text: string, secrets: readonly (string | null | undefined)[] = []): string {
  let out = text;
  const literals = [...registered, ...secrets.filter((s): s is string => !!s && s.length >= 4)].sort((a, b) => b.length - a.length);
  for (const s of literals) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out
    .replace(PRIVATE_KEY, (_m, kind: string) => `-----BEGIN ${kind}PRIVATE KEY-----${REDACTED}-----END ${kind}PRIVATE KEY-----`)
    .replace(URL_PASSWORD, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`)
    .replace(QUERY_SECRET, `$1${REDACTED}`)
    .replace(API_KEY_HEADER, `$1${REDACTED}`)
    .replace(OCTOPUS_API_KEY, `API-${REDACTED}`)
    .replace(CONTROL, visible);
}

/**
 * A redacted deep copy of `value` (plain data: objects, arrays, strings, numbers); strings are
 * passed through redactText, secret-named fields lose their value. Keys are kept.
 */
export function redact<T>(value: T, secrets: readonly (string | null | undefined)[] = []): T {
  return walk(value, secrets, new WeakSet()) as T;
}

function walk(v: unknown, secrets: readonly (string | null | undefined)[], seen: WeakSet<object>): unknown {
  if (typeof v === 'string') return redactText(v, secrets);
  if (v === null || typeof v !== 'object') return v;
  if (seen.has(v)) return undefined;
  seen.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => walk(x, secrets, seen));
    if (v instanceof Date) return new Date(v.getTime());
    if (v instanceof Error) return redactError(v, secrets);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = SECRET_FIELD.test(k) && x !== null && x !== undefined && typeof x !== 'boolean' ? REDACTED : walk(x, secrets, seen);
    }
    return out;
  } finally {
    seen.delete(v);
  }
}

function redactError(e: Error, secrets: readonly (string | null | undefined)[]): Error {
  const copy = new Error(redactText(e.message, secrets));
  copy.name = e.name;
  if (e.stack) copy.stack = redactText(e.stack, secrets);
  return copy;
}
