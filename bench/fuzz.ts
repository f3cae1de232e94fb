/**
 * Long fuzz runs: `npm run fuzz -- --runs N [--seed S]` runs the properties of test/fuzz
 * with N runs per pure target (a tenth of that, at least the npm-test count, over sockets)
 * and the given seed (a fixed one by default), without tap's per-file timeout.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '10000' }, seed: { type: 'string' } },
  allowPositionals: false,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a positive integer, got ${values.runs}`);
  process.exit(2);
}
const env = { ...process.env, FUZZ_RUNS: String(runs), ...(values.seed !== undefined ? { FUZZ_SEED: values.seed } : {}) };
const r = spawnSync('npx', ['tap', '--timeout=0', '--jobs=1', 'test/fuzz/'], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
