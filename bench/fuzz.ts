/**
 * Long fuzz runs: `npm run fuzz -- --runs N [--seed S]` runs the properties of test/fuzz
 * with N runs per pure target (a tenth of that, at least the npm-test count, over sockets)
 * and the given seed (a fixed one by default), without tap's per-file timeout.
 */
import { spawnSync } from 'node:child_process';
import { benchArgs, numberArg } from './cli-args.js';

const USAGE = `Usage: npm run fuzz -- [--runs N] [--seed S]

Run the property-based fuzz targets of test/fuzz (both protocol ends, the REST API, the input
files) for longer than npm test does; every failure prints its seed and the shrunk input.

Options:
  --runs N    runs per pure target; a tenth of that (at least the npm test count) over sockets (default 10000)
  --seed S    fast-check seed (default: the fixed one npm test uses)
  -h, --help  this text`;

const values = benchArgs('fuzz', USAGE, { runs: { type: 'string', default: '10000' }, seed: { type: 'string' } });
const runs = numberArg('fuzz', USAGE, 'runs', values.runs, 1, true);
if (values.seed !== undefined) numberArg('fuzz', USAGE, 'seed', values.seed, -(2 ** 31), true);
const env = { ...process.env, FUZZ_RUNS: String(runs), ...(values.seed !== undefined ? { FUZZ_SEED: values.seed } : {}) };
const r = spawnSync('npx', ['tap', '--timeout=0', '--jobs=1', 'test/fuzz/'], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
