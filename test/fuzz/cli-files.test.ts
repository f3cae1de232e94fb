/**
 * Fuzzing the other files a user hands pollfleet: Tentacle.config (XML, `import-config`),
 * result.json / comparison.json (`report`), the history store (SQLite, `history`) and a
 * cluster.json used as the API key file. Valid fixtures are mutated (fields dropped, wrong
 * types, huge numbers, unknown keys, deep nesting), their bytes damaged, foreign files and
 * wrong schemas offered. Every input is accepted or refused with one exit-2 error naming the
 * file -- in-process for the bulk, a sample through the CLI for the exit code and stderr.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import t from 'tap';
import { historyCommand } from '../../src/cli/commands/history.js';
import type { CliContext } from '../../src/cli/context.js';
import { resolveApiKey } from '../../src/environment/external/api-key-source.js';
import { HistoryStore } from '../../src/outputs/history-store.js';
import { renderConsoleComparison, renderConsoleResult } from '../../src/report/render-console.js';
import { isComparison, readResultFile } from '../../src/result/read-result-file.js';
import { parseTentacleConfig, scenarioYamlFromTentacleConfig } from '../../src/scenario/tentacle-config.js';
import { clearRegisteredSecrets } from '../../src/core/redact.js';
import { arbMutation, arbTextDamage, damage, expectCleanLoad, mutate } from '../helpers/cli-fuzz.js';
import { fuzzParams } from '../helpers/fuzz.js';
import { PROJECT_ROOT, spawnCli } from '../helpers/run.js';
import { cleanRun } from '../helpers/result-factory.js';

const dir = mkdtempSync(join(os.tmpdir(), 'pollfleet-fuzz-files-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const counts: Record<string, number> = {};
const counter = (target: string) => {
  counts[target] ??= 0;
  return {
    get inputs() {
      return counts[target]!;
    },
    set inputs(n: number) {
      counts[target] = n;
    },
  };
};
t.teardown(() => console.error(`# inputs tried: ${JSON.stringify(counts)}`));

// ---------- Tentacle.config ----------

const CONFIG = readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'Tentacle.config'), 'utf8');
const loadConfig = (file: string) => scenarioYamlFromTentacleConfig(parseTentacleConfig(readFileSync(file, 'utf8'), file), file);
const SERVERS = /(<set key="Tentacle\.Communication\.TrustedOctopusServers">)([\s\S]*?)(<\/set>)/;

export const HOSTILE_CONFIGS: [string, string][] = [
  // found: a negative numeric character reference threw a RangeError (exit 3)
  ['negative-char-ref', CONFIG.replace('C:\\Octopus', '&#-5;')],
  ['negative-hex-char-ref', CONFIG.replace('C:\\Octopus', '&#x-1;')],
  ['surrogate-char-ref', CONFIG.replace('C:\\Octopus', '&#xD800;&#55296;')],
  ['huge-char-ref', CONFIG.replace('C:\\Octopus', '&#99999999999999999999;')],
  ['empty', ''],
  ['binary', '\u0000\u0001\uffff\ufffe'],
  ['html', '<!doctype html><html><body>Tentacle</body></html>'],
  ['doctype-entities', '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><octopus-settings><set key="a">&lol2;</set></octopus-settings>'],
  ['servers-not-json', CONFIG.replace(SERVERS, '$1[{"Thumbprint":$3')],
  ['servers-object', CONFIG.replace(SERVERS, '$1{"a":1}$3')],
  ['servers-deep', CONFIG.replace(SERVERS, `$1${'['.repeat(50_000)}${']'.repeat(50_000)}$3`)],
  ['servers-proto', CONFIG.replace(SERVERS, '$1[{"__proto__":{"CommunicationStyle":2},"Thumbprint":"x"}]$3')],
  ['many-sets', `<octopus-settings>${Array.from({ length: 20_000 }, (_, i) => `<set key="k${i}">v</set>`).join('')}</octopus-settings>`],
  ['unclosed-comment', '<octopus-settings><!-- never closed'],
  ['cdata-unclosed', CONFIG.replace(SERVERS, '$1<![CDATA[[]$3')],
  ['count-huge', CONFIG.replace(/(PollingConnectionCount">)2/, '$11e400')],
];

t.test('Tentacle.config: hand-made hostile files', async (t) => {
  const c = counter('Tentacle.config');
  for (const [name, text] of HOSTILE_CONFIGS) {
    try {
      const o = expectCleanLoad(join(dir, `${name}.config`), text, loadConfig, c);
      t.pass(`${name}: ${o.ok ? 'accepted' : o.message!.slice(0, 160)}`);
    } catch (e) {
      t.fail(`${name}: ${(e as Error).message.slice(0, 1500)}`);
    }
  }
});

t.test('Tentacle.config: mutated server entries and damaged XML', async (t) => {
  const c = counter('Tentacle.config');
  const servers = JSON.parse(SERVERS.exec(CONFIG)![2]!.replace(/&quot;/g, '"')) as unknown;
  const { seed, numRuns } = fuzzParams(300);
  fc.assert(
    fc.property(fc.boolean(), fc.array(arbMutation, { minLength: 1, maxLength: 3 }), arbTextDamage, (xml, ms, d) => {
      const text = xml
        ? damage(Buffer.from(CONFIG), d).toString('utf8')
        : CONFIG.replace(SERVERS, (_m, a: string, _b, z: string) => `${a}${(JSON.stringify(mutate(servers, ms)) ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;')}${z}`);
      expectCleanLoad(join(dir, 'mutated.config'), text, loadConfig, c);
    }),
    { seed, numRuns, endOnFailure: true },
  );
  t.pass('every mutated Tentacle.config handled');
});

// ---------- result.json / comparison.json ----------

const RESULTS = ['result-pass-direct.json', 'result-fault.json', 'comparison-routes.json'].map((f) => JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', f), 'utf8')) as unknown);
RESULTS.push(JSON.parse(JSON.stringify(cleanRun())) as unknown);
/** What `pollfleet report` does with the document before writing files: validate, then render. */
const loadResult = (file: string) => {
  const doc = readResultFile(file);
  return isComparison(doc) ? renderConsoleComparison(doc, { color: false }) : renderConsoleResult(doc, { color: false });
};

t.test('result.json: mutated results and comparisons, damaged bytes, foreign JSON', async (t) => {
  const c = counter('result.json');
  for (const [name, text] of [
    ['array', '[]'], ['string', '"result"'], ['foreign', '{"name":"x","version":"1.0","dependencies":{}}'], ['empty', ''],
    ['deep', '{"schema":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}'], ['binary', '\u001f\u008b\u0008'],
    ['proto', '{"__proto__":{"schema":"pollfleet/result"}}'],
    // found: a deeply nested schema field overflowed the stack while the error was written (exit 3)
    ['deep-schema', '{"schema":' + '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000) + '}'],
  ] as const) {
    try {
      t.notOk(expectCleanLoad(join(dir, `${name}.json`), text, loadResult, c).ok, `${name}: refused`);
    } catch (e) {
      t.fail(`${name}: ${(e as Error).message.slice(0, 1500)}`);
    }
  }
  const { seed, numRuns } = fuzzParams(300);
  let refused = 0;
  fc.assert(
    fc.property(fc.nat({ max: RESULTS.length - 1 }), fc.array(arbMutation, { minLength: 1, maxLength: 3 }), fc.option(arbTextDamage, { freq: 4 }), (pick, ms, d) => {
      const json = JSON.stringify(mutate(RESULTS[pick], ms)) ?? 'null';
      const o = expectCleanLoad(join(dir, 'result.json'), d ? damage(Buffer.from(json), d) : json, loadResult, c);
      if (!o.ok) refused++;
    }),
    { seed, numRuns, endOnFailure: true },
  );
  t.ok(refused > 0, `${refused} of ${numRuns} refused, the rest rendered`);
});

// ---------- the history store ----------

const ctx = (): CliContext => {
  const sink = { write: () => true, columns: 100 } as unknown as NodeJS.WriteStream;
  return { stdout: sink, stderr: sink, color: false } as unknown as CliContext;
};
const loadHistory = (file: string) => historyCommand(ctx(), { history: file });
const validStore = join(dir, 'valid.sqlite');
{
  const s = new HistoryStore(validStore);
  const r = cleanRun() as unknown as Parameters<HistoryStore['append']>[0];
  for (let i = 0; i < 3; i++) s.append({ ...r, verdict: { pass: i !== 1, reasons: [], problems: [] } } as typeof r, `run-${i}/result.json`);
  s.close();
}

/** SQLite files with the wrong schema or wrong values, each built by `sql`. */
export const HOSTILE_SCHEMAS: [string, string][] = [
  ['other-app', `CREATE TABLE users (id INTEGER, name TEXT); INSERT INTO users VALUES (1, 'x');`],
  ['runs-other-columns', `CREATE TABLE runs (id INTEGER PRIMARY KEY, what TEXT); INSERT INTO runs VALUES (1, 'x');`],
  ['runs-missing-columns', `CREATE TABLE runs (id INTEGER PRIMARY KEY, scenario TEXT, route TEXT, started_at TEXT); INSERT INTO runs VALUES (1, 's', 'direct', '2026-01-01T00:00:00Z');`],
  // found: another application's database got pollfleet's tables written into it, and text in
  // number columns was rendered as garbage: both are refused now, naming the table, row and column
  ['runs-text-numbers', `CREATE TABLE node_runs (run_id INTEGER, node TEXT, connected INTEGER, pickup_p99 REAL, expired INTEGER, coverage_min REAL);
    CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, scenario TEXT NOT NULL, route TEXT NOT NULL, started_at TEXT NOT NULL, duration_ms REAL NOT NULL, pass INTEGER NOT NULL, coverage_min REAL NOT NULL, coverage_final REAL NOT NULL, pickup_p99 REAL, expired INTEGER, reconnects INTEGER NOT NULL, result_path TEXT);
    INSERT INTO runs (scenario, route, started_at, duration_ms, pass, coverage_min, coverage_final, pickup_p99, expired, reconnects) VALUES ('s', 'direct', 'yesterday', 'long', 'yes', 'all', x'00ff', 'fast', 'none', 'many');
    INSERT INTO runs (scenario, route, started_at, duration_ms, pass, coverage_min, coverage_final, pickup_p99, expired, reconnects) VALUES (5, 6, 7, 1e308, 2, -1, 9e999, -5, -1, 1e20);`],
  ['runs-view', 'CREATE TABLE x (a); CREATE VIEW runs AS SELECT a AS id FROM x;'],
];

t.test('history store: not SQLite, wrong schemas, wrong values, corrupt bytes', async (t) => {
  const c = counter('history store');
  // An empty file is an empty SQLite database: "no runs recorded yet".
  for (const [name, text] of [['text', 'not a database\n'], ['json', '{"runs":[]}'], ['binary', Buffer.alloc(4096, 0xab)]] as const) {
    const o = expectCleanLoad(join(dir, `${name}.sqlite`), text, loadHistory, c);
    t.notOk(o.ok, `${name}: refused`);
  }
  for (const [name, sql] of HOSTILE_SCHEMAS) {
    const file = join(dir, `${name}.sqlite`);
    rmSync(file, { force: true });
    const db = new Database(file);
    db.exec(sql);
    db.close();
    try {
      const o = expectCleanLoad(file, readFileSync(file), loadHistory, c);
      t.pass(`${name}: ${o.ok ? 'accepted' : o.message!.slice(0, 160)}`);
    } catch (e) {
      t.fail(`${name}: ${(e as Error).message.slice(0, 1500)}`);
    }
  }
  const valid = readFileSync(validStore);
  const { seed, numRuns } = fuzzParams(150);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }), fc.option(fc.nat()), (flips, cut) => {
      const bytes = Buffer.from(valid);
      for (const [at, x] of flips) bytes[at % bytes.length] ^= x;
      const file = join(dir, 'corrupt.sqlite');
      rmSync(`${file}-wal`, { force: true });
      rmSync(`${file}-shm`, { force: true });
      expectCleanLoad(file, cut === null ? bytes : bytes.subarray(0, cut % bytes.length), loadHistory, c);
    }),
    { seed, numRuns, endOnFailure: true },
  );
  t.pass('every corrupt store handled');
});

// ---------- cluster.json as the API key file ----------

t.test('cluster.json as external.apiKeyFile: mutated documents', async (t) => {
  t.teardown(() => clearRegisteredSecrets());
  const c = counter('cluster.json');
  const state = { apiKey: 'API-ABCDEFGHIJKLMNOPQRSTUV', spaceId: 'Spaces-1', serverThumbprint: 'A'.repeat(40), route: 'direct', queue: 'per-node', nodes: [{ name: 'node1', pollingHost: '127.0.0.1', pollingPort: 10943, pollingAddress: 'https://127.0.0.1:10943', apiUrl: 'http://127.0.0.1:8080', pid: 1 }], startedAt: '2026-01-01T00:00:00Z', pid: 1 };
  const { seed, numRuns } = fuzzParams(200);
  fc.assert(
    fc.property(fc.array(arbMutation, { minLength: 1, maxLength: 3 }), fc.option(arbTextDamage, { freq: 3 }), (ms, d) => {
      const json = JSON.stringify(mutate(state, ms), null, 2) ?? 'null';
      const file = join(dir, 'cluster.json');
      writeFileSync(file, '');
      expectCleanLoad(file, d ? damage(Buffer.from(json), d) : json, (f) => resolveApiKey({ apiKeyEnv: null, apiKeyFile: f }), c);
    }),
    { seed, numRuns, endOnFailure: true },
  );
  t.pass('every mutated cluster.json handled');
});

// ---------- through the CLI ----------

t.test('the CLI: a sample exits 2 with one message naming the file, no stack trace', async (t) => {
  const cfg = join(dir, 'cli.config');
  writeFileSync(cfg, HOSTILE_CONFIGS[0]![1]);
  const res = join(dir, 'cli-result.json');
  writeFileSync(res, JSON.stringify(mutate(RESULTS[0], [{ op: 'set', at: 7, value: { deep: [[[]]] } }])));
  const hist = join(dir, 'cli.sqlite');
  copyFileSync(join(dir, 'runs-text-numbers.sqlite'), hist);
  for (const [args, file] of [[['import-config', cfg], cfg], [['report', res], res], [['history', '--history', hist], hist]] as const) {
    const p = spawnCli([...args]);
    const { code } = await p.exited(30_000);
    t.equal(code, 2, `${args[0]}: exit 2\n${p.stderr()}`);
    t.match(p.stderr(), file, `${args[0]}: stderr names the file`);
    t.notMatch(p.stderr(), /\n\s+at .+:\d+:\d+/, `${args[0]}: no stack trace`);
  }
});
