import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Comparison, Result } from '../../src/result/result.js';

/** The hand-written Result / Comparison fixtures in test/fixtures/, freshly parsed per call. */
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export type ResultFixture = 'result-pass-direct' | 'result-fail-single-address' | 'result-fault';

export function loadResult(name: ResultFixture): Result {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as Result;
}

export function loadComparison(name: 'comparison-routes' = 'comparison-routes'): Comparison {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as Comparison;
}
