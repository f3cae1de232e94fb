import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  EXIT_BAD_INPUT,
  EXIT_CHECK_FAILED,
  EXIT_INTERNAL_ERROR,
  PollfleetError,
  exitCodeForError,
  isInternalError,
} from '../../src/core/errors.js';
import { reportError, type CliContext } from '../../src/cli/context.js';
import { PROJECT_ROOT, spawnCli } from '../helpers/run.js';

// One exit code per kind of failure: 1 a check failed, 2 bad input / environment, 3 a bug in pollfleet.

function fakeContext(): { ctx: CliContext; err: () => string } {
  let text = '';
  const stderr = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
  return { ctx: { stdout: stderr, stderr, isTTY: false, color: false, version: 'test' }, err: () => text };
}

t.test('the mapping: each kind of failure has its own code', async (t) => {
  t.equal(EXIT_INTERNAL_ERROR, 3);
  t.not(EXIT_INTERNAL_ERROR, EXIT_CHECK_FAILED);
  t.not(EXIT_INTERNAL_ERROR, EXIT_BAD_INPUT);
  t.equal(exitCodeForError(new PollfleetError('threshold.failed', 'x')), EXIT_CHECK_FAILED);
  t.equal(exitCodeForError(new PollfleetError('scenario.invalid', 'x')), EXIT_BAD_INPUT);
  t.equal(exitCodeForError(new PollfleetError('environment.failed', 'x')), EXIT_BAD_INPUT);
  t.equal(exitCodeForError(new PollfleetError('internal', 'x')), EXIT_INTERNAL_ERROR);
  t.equal(exitCodeForError(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' })), EXIT_BAD_INPUT, 'a system error is about the environment');
  t.equal(exitCodeForError(new TypeError("Cannot read properties of undefined (reading 'replace')")), EXIT_INTERNAL_ERROR, 'a TypeError is a bug');
  t.equal(exitCodeForError(new RangeError('Invalid array length')), EXIT_INTERNAL_ERROR);
  t.equal(exitCodeForError('a thrown string'), EXIT_INTERNAL_ERROR);
  t.equal(isInternalError(new PollfleetError('tcp.refused', 'x')), false);
  t.equal(exitCodeForError(structuredClone({ kind: 'scenario.invalid', message: 'x' })), EXIT_BAD_INPUT, 'a cloned error keeps its kind');
  t.equal(exitCodeForError(Object.assign(new Error('x'), { kind: 'protocol.http-response' })), EXIT_BAD_INPUT, 'the protocol layer\'s errors are not bugs');
});

t.test('a real internal error path: reportError on an exception nobody expected says it is a bug, exit 3', async (t) => {
  const { ctx, err } = fakeContext();
  // What a slip in pollfleet's own code throws (reading a field of undefined).
  let thrown: unknown;
  try {
    const result = JSON.parse('{}') as { summary: { errors: Record<string, number> } };
    void Object.keys(result.summary.errors);
  } catch (e) {
    thrown = e;
  }
  t.type(thrown, TypeError);
  t.equal(reportError(ctx, thrown), EXIT_INTERNAL_ERROR);
  t.match(err(), /internal error \(a bug in pollfleet/);
  t.match(err(), /please report it/);
  t.notMatch(err(), '    at ', 'no stack unless POLLFLEET_DEBUG is set');
});

t.test('bad input still prints one clear message and exits 2', async (t) => {
  const { ctx, err } = fakeContext();
  t.equal(reportError(ctx, new PollfleetError('scenario.invalid', 'x.yaml: fleet.tentacles: expected a number', { hint: 'h' })), EXIT_BAD_INPUT);
  t.match(err(), /^pollfleet: x\.yaml: fleet\.tentacles/);
  t.notMatch(err(), /bug/);
});

t.test('documented: --help and the README list exit code 3', async (t) => {
  const p = spawnCli(['--help']);
  const { code } = await p.exited(20_000);
  t.equal(code, 0);
  t.match(p.stdout(), /^\s+3\s+internal error: a bug in pollfleet/m);
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  t.match(readme, /^\| 3 \| internal error: a bug in pollfleet/m);
});

t.test('a usage slip in any subcommand (unknown option, missing argument) is bad input, exit 2 -- never 1, which means a threshold failed', async (t) => {
  for (const args of [['run', '--no-such-option'], ['report'], ['merge'], ['check'], ['history', '--no-such-option']]) {
    const p = spawnCli(args);
    const { code } = await p.exited(20_000);
    t.equal(code, 2, `pollfleet ${args.join(' ')}`);
    t.match(p.stderr(), /^error: (unknown option|missing required argument)/m, `${args.join(' ')}: commander's one-line message`);
    t.notMatch(p.stderr(), '    at ', 'no stack');
  }
  const help = spawnCli(['run', '--help']);
  t.equal((await help.exited(20_000)).code, 0, 'asking a subcommand for help is still exit 0');
  t.match(help.stdout(), /^Usage: pollfleet run/m);
});

t.test('an --out that cannot be a folder is bad input naming --out, before any run starts', async (t) => {
  const dir = t.testdir({ 'taken': 'a file, not a folder' });
  const fixture = join(PROJECT_ROOT, 'test', 'fixtures', 'result-fault.json');
  for (const args of [
    ['report', fixture, '--out', join(dir, 'taken')],
    ['report', fixture, '--out', join(dir, 'taken', 'sub')],
    ['run', 'scenarios/direct.yaml', '--out', join(dir, 'taken'), '--quiet'],
  ]) {
    const p = spawnCli(args);
    const { code } = await p.exited(30_000);
    t.equal(code, 2, args.slice(0, 1).concat(args.slice(-2)).join(' '));
    t.match(p.stderr(), /^pollfleet: --out \S+: exists and is not a folder/m);
    t.notMatch(p.stderr(), /unexpected error| {4}at /);
  }
});

t.test('a run that stops on bad input before writing anything leaves no empty run folder (nor a reports/ it made)', async (t) => {
  const dir = t.testdir({
    'missing-identity.yaml': [
      'name: missing-identity',
      'target: external',
      'external:',
      '  nodes: [{ name: node1, polling: "127.0.0.1:1" }]',
      '  thumbprint: 77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6',
      '  identity: { cert: no-such.pem, key: no-such.key }',
      'fleet: { tentacles: 1 }',
      '',
    ].join('\n'),
    reports: { 'earlier-run': { 'result.json': '{}' } },
  });
  const p = spawnCli(['run', join(dir, 'missing-identity.yaml')], { cwd: dir });
  const { code } = await p.exited(30_000);
  t.equal(code, 2, p.stderr());
  t.match(p.stderr(), /no-such\.pem/, 'the message names the file');
  t.same(readdirSync(join(dir, 'reports')), ['earlier-run'], 'no empty folder for the run that never started; what was there stays');

  const fresh = t.testdir({ 'missing-identity.yaml': readFileSync(join(dir, 'missing-identity.yaml'), 'utf8') });
  const q = spawnCli(['run', 'missing-identity.yaml'], { cwd: fresh });
  t.equal((await q.exited(30_000)).code, 2, q.stderr());
  t.notOk(existsSync(join(fresh, 'reports')), 'reports/ it created for the run is gone too');
});

t.test('a path that never ends (a device) is bad input naming the file, not a hang', { skip: existsSync('/dev/zero') ? false : 'no /dev/zero here' }, async (t) => {
  for (const [args, what] of [
    [['run', '/dev/zero'], /\/dev\/zero: more than 1 MiB: not a scenario file/],
    [['report', '/dev/zero'], /\/dev\/zero: more than 512 MiB: not a result\.json/],
    [['import-config', '/dev/zero'], /\/dev\/zero: more than 16 MiB: not a Tentacle\.config/],
  ] as const) {
    const p = spawnCli([...args]);
    t.equal((await p.exited(60_000)).code, 2, `pollfleet ${args.join(' ')}`);
    t.match(p.stderr(), what);
  }
});
