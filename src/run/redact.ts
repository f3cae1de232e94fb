import type { Scenario } from '../scenario/resolve.js';

/**
 * The scenario as it may appear in a Result: secrets never do. API keys and passphrases are
 * only ever named by environment variable in a scenario; identity file paths are kept
 * (they are not secrets), their contents never are read into a Result.
 */
export function redactScenario(s: Scenario): Scenario {
  return JSON.parse(JSON.stringify(s)) as Scenario;
}
