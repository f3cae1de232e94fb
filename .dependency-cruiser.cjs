/**
 * Layer rules for src/ (see DESIGN.md, "Two sides, one seam" and "Lower layers never import
 * higher ones"). `npm run layers` fails when one is broken.
 *
 * The order, lowest first (a layer may import only layers listed before it, never after):
 *
 *   0. core/                       errors, clock, events (the seam), lifecycle, small utils
 *      scenario/defaults.ts,       named settings and the duration parser: plain data that
 *      scenario/duration.ts        every layer may read
 *   1. result/                     Result types, schema, histogram encoding (both sides)
 *   2. wire side                   halibut/, pki/  <  octopus-api/  <  tentacle/, cluster/, network/
 *      measuring side              metrics/  <  verdict/  <  report/  <  outputs/
 *      (the two sides never import each other; the measuring side opens no socket)
 *   3. scenario/ (the rest), plan/ parse, validate and expand the input; they read fault and
 *                                  threshold definitions, never the wire or the measuring side
 *   4. environment/, faults/       orchestrate the wire side (and faults read the measuring side)
 *   5. fleet/                      N tentacles
 *   6. run/                        the one run loop
 *   7. cli/                        nothing imports it
 *
 * Only run/, fleet/, cli/ (and environment/, faults/ below run/) see both sides.
 * Type-only imports count (tsPreCompilationDeps): a type is a dependency too.
 */

const WIRE = '^src/(halibut|pki|tentacle|cluster|network|octopus-api)/';
const MEASURING = '^src/(metrics|verdict|report|outputs)/';
const ORCHESTRATION = '^src/(environment|faults|fleet|run|cli)/';
const SHARED_SETTINGS = '^src/scenario/(defaults|duration)\\.ts$';

const rules = [
  {
    name: 'no-circular',
    comment: 'No import cycles: they make start-up order and layering impossible to reason about.',
    from: {},
    to: { circular: true },
  },
  {
    name: 'core-is-the-bottom',
    comment: 'core/ (and the shared settings) import nothing else from src/.',
    from: { path: ['^src/core/', SHARED_SETTINGS] },
    to: { path: '^src/', pathNot: ['^src/core/', SHARED_SETTINGS] },
  },
  {
    name: 'result-only-on-core',
    comment: 'result/ is read by both sides, so it may import only core/ and the shared settings.',
    from: { path: '^src/result/' },
    to: { path: '^src/', pathNot: ['^src/(core|result)/', SHARED_SETTINGS] },
  },
  {
    name: 'wire-not-measuring',
    comment: 'The wire side never imports the measuring side; events (core/events.ts) are the seam.',
    from: { path: WIRE },
    to: { path: MEASURING },
  },
  {
    name: 'measuring-not-wire',
    comment: 'The measuring side never imports the wire side; it reads events and Results.',
    from: { path: MEASURING },
    to: { path: WIRE },
  },
  {
    name: 'measuring-opens-no-socket',
    comment: 'metrics/, verdict/, report/ (and result/) never touch a socket (outputs/ may: Pushgateway).',
    from: { path: '^src/(metrics|verdict|report|result)/' },
    to: { dependencyTypes: ['core', 'npm'], path: '^(node:)?(net|tls|dgram|http|https|http2)$|^(undici|ws|redis)$' },
  },
  {
    name: 'sides-not-orchestration',
    comment: 'Neither side imports the layers that orchestrate it (environment, faults, fleet, run, cli).',
    from: { path: [WIRE, MEASURING] },
    to: { path: ORCHESTRATION },
  },
  {
    name: 'sides-read-only-settings-from-scenario',
    comment:
      'Both sides get resolved settings: at run time they read only the named defaults from scenario/ and nothing from plan/; ' +
      'they may know the shape of a resolved Scenario (type-only imports), never the parsing, loading or expanding code.',
    from: { path: [WIRE, MEASURING] },
    to: { path: '^src/(scenario|plan)/', pathNot: SHARED_SETTINGS, dependencyTypesNot: ['type-only'] },
  },
  {
    name: 'wire-order',
    comment: 'Inside the wire side: halibut/ and pki/ < octopus-api/ < tentacle/, cluster/, network/.',
    from: { path: '^src/(halibut|pki)/' },
    to: { path: '^src/(octopus-api|tentacle|cluster|network)/' },
  },
  {
    name: 'wire-order-api',
    comment: 'octopus-api/ is a client library: it does not know tentacles, nodes or balancers.',
    from: { path: '^src/octopus-api/' },
    to: { path: '^src/(tentacle|cluster|network)/' },
  },
  {
    name: 'two-ends-apart',
    comment: 'The tentacle end and the node end share halibut/, never each other; network/ knows neither.',
    from: { path: '^src/(tentacle|cluster|network)/' },
    // $1 is the folder the import starts in: a folder may import itself.
    to: { path: '^src/(tentacle|cluster|network)/', pathNot: '^src/$1/' },
  },
  {
    name: 'measuring-order-metrics',
    comment: 'Inside the measuring side: metrics/ < verdict/ < report/ < outputs/.',
    from: { path: '^src/metrics/' },
    to: { path: '^src/(verdict|report|outputs)/' },
  },
  {
    name: 'measuring-order-verdict',
    comment: 'verdict/ judges a Result; it does not render or write.',
    from: { path: '^src/verdict/' },
    to: { path: '^src/(report|outputs)/' },
  },
  {
    name: 'measuring-order-report',
    comment: 'report/ holds pure renderers: no side effects from outputs/.',
    from: { path: '^src/report/' },
    to: { path: '^src/outputs/' },
  },
  {
    name: 'input-not-wire-or-measuring',
    comment:
      'scenario/ and plan/ are pure input handling: no wire-side code (its types are fine: a Plan names what the wire side will build), ' +
      'no measuring side except the threshold grammar in verdict/, nothing above them.',
    from: { path: '^src/(scenario|plan)/' },
    to: { path: [WIRE, '^src/(metrics|report|outputs)/'], dependencyTypesNot: ['type-only'] },
  },
  {
    name: 'input-below-orchestration',
    comment: 'scenario/ and plan/ sit below environment/, fleet/, run/ and cli/ (faults/ definitions are read by the scenario schema).',
    from: { path: '^src/(scenario|plan)/' },
    to: { path: '^src/(environment|fleet|run|cli)/' },
  },
  {
    name: 'below-run',
    comment: 'environment/, faults/ and fleet/ are below run/ and cli/.',
    from: { path: '^src/(environment|faults|fleet)/' },
    to: { path: '^src/(run|cli)/' },
  },
  {
    name: 'fleet-not-environment',
    comment: 'fleet/ spawns tentacles; bringing up nodes and balancers and applying faults is not its job.',
    from: { path: '^src/fleet/' },
    to: { path: '^src/(environment|faults)/' },
  },
  {
    name: 'run-not-cli',
    comment: 'run/ is called by cli/, never the other way round.',
    from: { path: '^src/run/' },
    to: { path: '^src/cli/' },
  },
  {
    name: 'nothing-imports-cli',
    comment: 'cli/ is the top: only cli/ itself imports it.',
    from: { pathNot: '^src/cli/' },
    to: { path: '^src/cli/' },
  },
];

module.exports = {
  forbidden: rules.map((rule) => ({ severity: 'error', ...rule })),
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
