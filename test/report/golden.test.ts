import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderJunit } from '../../src/report/render-junit.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { renderPrometheus } from '../../src/report/render-prometheus.js';
import type { Comparison, Result } from '../../src/result/result.js';
import { loadComparison, loadResult, type ResultFixture } from '../helpers/report-fixtures.js';

/**
 * Golden files: each renderer's whole output for each fixture in test/fixtures/, compared
 * byte for byte with test/fixtures/golden/<fixture>.<ext>. A renderer change that alters a
 * report shows up here as a diff to review. After an intended change, regenerate with
 *   UPDATE_GOLDEN=1 npx tap test/report/golden.test.ts
 * and read the diff before committing it.
 */

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'golden');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

const RENDERERS: Array<{ ext: string; render: (input: Result | Comparison) => string }> = [
  { ext: 'md', render: renderMarkdown },
  { ext: 'junit.xml', render: renderJunit },
  { ext: 'prom', render: renderPrometheus },
];

const RESULTS: ResultFixture[] = ['result-pass-direct', 'result-fail-single-address', 'result-fault'];
const INPUTS: Array<{ name: string; load: () => Result | Comparison }> = [
  ...RESULTS.map((name) => ({ name, load: () => loadResult(name) })),
  { name: 'comparison-routes', load: () => loadComparison('comparison-routes') },
];

for (const { ext, render } of RENDERERS) {
  t.test(`${ext} renderer matches its golden files`, async (t) => {
    for (const input of INPUTS) {
      const file = join(GOLDEN, `${input.name}.${ext}`);
      const text = render(input.load());
      if (UPDATE) {
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(file, text);
      }
      t.equal(text, readFileSync(file, 'utf8'), `${input.name}.${ext}`);
      t.equal(render(input.load()), text, `${input.name}.${ext}: same input, same text`);
    }
  });
}
