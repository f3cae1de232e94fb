import { redact } from '../core/redact.js';
import type { Scenario } from '../scenario/resolve.js';

/**
 * The scenario as it may appear in a Result: secrets never do. API keys and passphrases are
 * only ever named by environment variable or file in a scenario; identity file paths are kept
 * (they are not secrets), their contents never are read into a Result. What a user can still
 * write into a string -- a password inside a URL (`cluster.redisUrl`, an API URL), a key
 * pasted where a path belongs -- goes through the one redaction step (core/redact.ts).
 */
export function redactScenario(s: Scenario): Scenario {
  return redact(JSON.parse(JSON.stringify(s)) as Scenario);
}
