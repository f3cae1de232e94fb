/** One problem found while resolving a scenario: where (`route.nlb.idleTimeout`) and what was expected. */
export interface ResolveProblem {
  path: string;
  message: string;
}
