import type { ComparisonRun } from '../result/result.js';

/**
 * The verdict of a comparison (`pollfleet compare`): each variant was judged on its own by
 * judge.ts; the comparison passes when every variant ran and behaved as its scenario said
 * it would (`expect: pass|fail`) -- a variant that states no expectation must pass.
 */
export function comparisonPasses(runs: ReadonlyArray<Pick<ComparisonRun, 'pass' | 'expectedPass'>>, variants: number): boolean {
  const asExpected = runs.every((r) => (r.expectedPass === null ? r.pass : r.pass === r.expectedPass));
  return asExpected && runs.length === variants;
}
