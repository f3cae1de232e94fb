/**
 * Fuzzing scenario files: the example scenarios in scenarios/ mutated (fields dropped, wrong
 * types, huge/NaN/negative numbers and durations, unknown keys, deep nesting) and written as
 * YAML or JSON, their text damaged (truncated, flipped bytes, binary garbage), and hand-made
 * hostile documents (alias bombs, duplicate keys, deep nesting, tags). Every input is
 * accepted or refused with one exit-2 error naming the file -- in-process through the loader;
 * a sample through the CLI proves the exit code and that stderr has no stack trace.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { parse } from 'yaml';
import { loadScenarioFile } from '../../src/scenario/loader.js';
import { arbMutation, arbTextDamage, damage, expectCleanLoad, mutate, serialise } from '../helpers/cli-fuzz.js';
import { fuzzParams } from '../helpers/fuzz.js';
import { PROJECT_ROOT, spawnCli } from '../helpers/run.js';

const dir = mkdtempSync(join(os.tmpdir(), 'pollfleet-fuzz-scenario-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const EXAMPLES = readdirSync(join(PROJECT_ROOT, 'scenarios'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => ({ name: f, text: readFileSync(join(PROJECT_ROOT, 'scenarios', f), 'utf8') }));
const DOCS = EXAMPLES.map((e) => ({ name: e.name, doc: parse(e.text) as unknown }));
const load = (file: string) => loadScenarioFile(file);
const counter = { inputs: 0 };

/** Hand-made hostile documents: each one a regression case. */
export const HOSTILE_SCENARIOS: { name: string; ext: 'yaml' | 'json'; text: string | Buffer }[] = [
  // a billion-laughs alias bomb
  // found: an alias bomb ended in exit 3 (the yaml library's ReferenceError was not caught)
  { name: 'alias-bomb', ext: 'yaml', text: ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`), 'name: *i'].join('\n') },
  { name: 'alias-to-scenario', ext: 'yaml', text: 'base: &b { route: { kind: direct } }\nname: x\nroute: *b\n' },
  { name: 'undefined-alias', ext: 'yaml', text: 'name: *nope\n' },
  { name: 'duplicate-keys', ext: 'yaml', text: 'name: a\nname: b\nroute: { kind: direct }\n' },
  { name: 'duplicate-keys', ext: 'json', text: '{"name":"a","name":"b","route":{"kind":"direct"}}' },
  { name: 'deep-yaml', ext: 'yaml', text: 'fleet: ' + '['.repeat(20_000) + ']'.repeat(20_000) + '\n' },
  { name: 'deep-yaml-map', ext: 'yaml', text: 'fleet: ' + '{a: '.repeat(5_000) + '1' + '}'.repeat(5_000) + '\n' },
  { name: 'deep-json', ext: 'json', text: '{"fleet":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}' },
  { name: 'deep-json-objects', ext: 'json', text: '{"cluster":' + '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000) + '}' },
  { name: 'proto-key', ext: 'json', text: '{"__proto__":{"name":"x"},"route":{"kind":"direct"},"fleet":{"__proto__":{"tentacles":5}}}' },
  { name: 'proto-key', ext: 'yaml', text: '__proto__: { name: x }\nroute: { kind: direct }\n' },
  { name: 'constructor-key', ext: 'yaml', text: 'name: x\nconstructor: { prototype: { polluted: 1 } }\n' },
  { name: 'binary', ext: 'yaml', text: Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80, 0x9c, 0x00, 0x0a, 0xc3, 0x28]) },
  { name: 'binary', ext: 'json', text: Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]) },
  { name: 'empty', ext: 'yaml', text: '' },
  { name: 'empty', ext: 'json', text: '' },
  { name: 'bom', ext: 'json', text: '\ufeff{"name":"x"}' },
  { name: 'null', ext: 'json', text: 'null' },
  { name: 'list', ext: 'yaml', text: '- a\n- b\n' },
  { name: 'scalar', ext: 'yaml', text: '42\n' },
  { name: 'tags', ext: 'yaml', text: 'name: !!binary aGVsbG8=\nfleet: !!set { a, b }\nduration: !!timestamp 2001-12-14\n' },
  { name: 'js-tag', ext: 'yaml', text: 'name: !!js/function "function(){}"\n' },
  { name: 'custom-tag', ext: 'yaml', text: 'name: !Ref x\nroute: !!map { kind: direct }\n' },
  { name: 'merge-key', ext: 'yaml', text: 'x: &x { kind: direct }\nroute: { <<: *x }\nname: m\n' },
  { name: 'merge-key-bomb', ext: 'yaml', text: 'a: &a { x: 1 }\nb: &b { <<: [*a, *a, *a, *a] }\nroute: { <<: [*b, *b, *b, *b] }\n' },
  { name: 'huge-numbers', ext: 'yaml', text: 'name: h\nfleet: { tentacles: 1e308, rampUp: 99999999999999999999999d }\nduration: 1e400s\n' },
  { name: 'nan', ext: 'yaml', text: 'name: n\nfleet: { tentacles: .nan }\nworkload: { interval: .nan, scriptShare: .inf }\n' },
  { name: 'negative-durations', ext: 'yaml', text: 'name: n\nduration: -5s\nfleet: { rampUp: -1ms }\ntimeouts: { pollingQueueWait: -30s }\nfaults: [{ at: -1s, action: crash, target: node1, for: -2s }]\n' },
  { name: 'variants-wrong', ext: 'yaml', text: 'name: v\nvariants: 5\n' },
  { name: 'variants-deep', ext: 'yaml', text: 'name: v\nbase: { fleet: ' + '{a: '.repeat(2_000) + '1' + '}'.repeat(2_000) + ' }\nvariants: [{ name: a }]\n' },
  { name: 'variants-proto', ext: 'json', text: '{"name":"v","base":{"__proto__":{"route":{"kind":"direct"}}},"variants":[{"name":"a","__proto__":{"x":1}}]}' },
  { name: 'huge-string', ext: 'yaml', text: 'name: ' + 'x'.repeat(5_000_000) + '\n' },
  { name: 'many-keys', ext: 'yaml', text: Array.from({ length: 20_000 }, (_, i) => `k${i}: ${i}`).join('\n') },
  // found: 20,000 keys took 65 s (the yaml library's unique-key check is quadratic)
  { name: 'many-duplicate-keys', ext: 'yaml', text: Array.from({ length: 20_000 }, (_, i) => `k${i}: ${i}`).join('\n') + '\nk5: again\n' },
  // found: 5,000 faults took 25 s (checking faults against each other is quadratic): at most 1,000
  { name: 'many-faults', ext: 'yaml', text: 'name: f\nfaults:\n' + Array.from({ length: 5_000 }, (_, i) => `  - { at: ${i}s, action: restart, target: node1 }`).join('\n') },
  { name: 'too-large', ext: 'yaml', text: 'name: big\n' + '# padding\n'.repeat(110_000) },
  { name: 'many-thresholds', ext: 'yaml', text: 'name: f\nthresholds:\n' + Array.from({ length: 5_000 }, () => '  - "coverage.final >= 1 && (((((((("').join('\n') },
];

t.test('hand-made hostile scenario files end in one exit-2 error naming the file', async (t) => {
  for (const [i, h] of HOSTILE_SCENARIOS.entries()) {
    const file = join(dir, `hostile-${i}-${h.name}.${h.ext}`);
    try {
      const o = expectCleanLoad(file, h.text, load, counter);
      t.pass(`${h.name}.${h.ext}: ${o.ok ? 'accepted' : o.message!.split('\n')[0]!.slice(0, 160)}`);
    } catch (e) {
      t.fail(`${h.name}.${h.ext}: ${(e as Error).message.slice(0, 1500)}`);
    }
  }
});

t.test('mutated example scenarios (YAML and JSON)', async (t) => {
  const { seed, numRuns } = fuzzParams(300);
  let refused = 0;
  fc.assert(
    fc.property(fc.nat({ max: DOCS.length - 1 }), fc.array(arbMutation, { minLength: 1, maxLength: 4 }), fc.constantFrom<'yaml' | 'json'>('yaml', 'json'), (pick, ms, as) => {
      const file = join(dir, `mutated.${as}`);
      const o = expectCleanLoad(file, serialise(mutate(DOCS[pick]!.doc, ms), as), load, counter);
      if (!o.ok) refused++;
    }),
    { seed, numRuns, endOnFailure: true },
  );
  t.ok(refused > 0, `${refused} of ${numRuns} mutated scenarios refused cleanly, the rest accepted`);
});

t.test('damaged scenario text (truncated, flipped bytes, garbage)', async (t) => {
  const { seed, numRuns } = fuzzParams(300);
  fc.assert(
    fc.property(fc.nat({ max: EXAMPLES.length - 1 }), arbTextDamage, fc.constantFrom<'yaml' | 'json'>('yaml', 'json'), (pick, d, as) => {
      const base = as === 'yaml' ? EXAMPLES[pick]!.text : JSON.stringify(DOCS[pick]!.doc, null, 1);
      expectCleanLoad(join(dir, `damaged.${as}`), damage(Buffer.from(base), d), load, counter);
    }),
    { seed, numRuns, endOnFailure: true },
  );
  t.pass('every damaged file handled');
});

t.test('the CLI: a sample of hostile files exits 2 with one message naming the file, no stack trace', async (t) => {
  const sample = [HOSTILE_SCENARIOS[0]!, HOSTILE_SCENARIOS[12]!, HOSTILE_SCENARIOS[27]!];
  for (const [i, h] of sample.entries()) {
    const file = join(dir, `cli-${i}.${h.ext}`);
    writeFileSync(file, h.text);
    const p = spawnCli(['run', '--plan', file]);
    const { code } = await p.exited(30_000);
    t.equal(code, 2, `${h.name}: exit 2`);
    t.match(p.stderr(), file, `${h.name}: stderr names the file`);
    t.notMatch(p.stderr(), /\n\s+at .+:\d+:\d+/, `${h.name}: no stack trace`);
  }
});

t.teardown(() => console.error(`# scenario files: ${counter.inputs} inputs tried`));
