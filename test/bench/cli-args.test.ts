/**
 * The bench scripts' command lines: a typo or a bad value is refused before anything starts
 * (exit 2, one line naming the option, then the usage; no stack trace), and --help teaches.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = (name: string, ...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

for (const [name, usage] of [['fleet-hold', 'npm run bench'], ['soak', 'npm run soak'], ['fuzz', 'npm run fuzz']] as const) {
  t.test(`${name}: --help`, async (t) => {
    const r = script(name, '--help');
    t.equal(r.status, 0);
    t.match(r.stdout, `Usage: ${usage} --`);
    t.match(r.stdout, /-h, --help/);
  });
}

t.test('refused before anything runs: exit 2, the option named, the usage, no stack', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['fleet-hold', ['--tentacle', '5'], /^bench: Unknown option '--tentacle'\n/],
    ['fleet-hold', ['--tentacles', 'many'], /^bench: --tentacles must be a whole number >= 1, got "many"\n/],
    ['fleet-hold', ['--tentacles', '2.5'], /^bench: --tentacles must be a whole number/],
    ['fleet-hold', ['--duration', '0s'], /^bench: --duration must be a duration above zero/],
    ['fleet-hold', ['--tentacles', '3', '--shards', '4'], /^bench: --shards 4: expected a whole number from 1 .* \(3\)/],
    ['fleet-hold', ['--workers', 'lots'], /^bench: --workers must be a whole number/],
    ['fleet-hold', ['--json'], /^bench: Option '--json <value>' argument missing/],
    ['soak', ['--minute', '60'], /^soak: Unknown option '--minute'/],
    ['soak', ['--minutes', 'x'], /^soak: --minutes must be a number >= 0.1, got "x"/],
    ['soak', ['--nodes', '2'], /^soak: --nodes must be a whole number >= 3/],
    ['soak', ['--ramp-up', 'soon'], /^soak: --ramp-up must be a duration/],
    ['soak', ['--sample', '999999h'], /^soak: --sample must be at most 596h \(the longest a timer can wait\)/],
    ['fuzz', ['--runs', '0'], /^fuzz: --runs must be a whole number >= 1/],
    ['fuzz', ['--seed', 'abc'], /^fuzz: --seed must be a whole number/],
    ['fuzz', ['extra'], /^fuzz: Unexpected argument 'extra'/],
  ];
  for (const [name, args, message] of cases) {
    const r = script(name, ...args);
    t.equal(r.status, 2, `${name} ${args.join(' ')}: exit 2`);
    t.match(r.stderr, message, `${name} ${args.join(' ')}: the message`);
    t.match(r.stderr, /\n\nUsage: npm run /, 'then the usage');
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
