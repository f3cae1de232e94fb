import t from 'tap';
import { renderConsoleResult } from '../../src/report/render-console.js';
import { renderHtml } from '../../src/report/render-html.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import type { Result } from '../../src/result/result.js';
import { loadResult } from '../helpers/report-fixtures.js';

/** `cluster.nodeBehaviour: lenient` is a named deviation from a real node: every human report says so. */

function withBehaviour(behaviour: 'real' | 'lenient' | undefined): Result {
  const r = loadResult('result-fault');
  r.scenario = behaviour === undefined ? { cluster: {} } : { cluster: { nodeBehaviour: behaviour } };
  return r;
}

t.test('a lenient run names the deviation in the console, markdown and HTML reports; a real one does not', async (t) => {
  const lenient = withBehaviour('lenient');
  t.match(renderConsoleResult(lenient), /deviation from a real node: nodeBehaviour lenient/);
  t.match(renderMarkdown(lenient), /- deviation: nodeBehaviour lenient/);
  t.match(renderHtml(lenient), /<span class="tag">deviation<\/span> nodeBehaviour lenient/);
  for (const r of [withBehaviour('real'), withBehaviour(undefined)]) {
    t.notMatch(renderConsoleResult(r), /deviation/);
    t.notMatch(renderMarkdown(r), /deviation/);
  }
});

t.test('the console shows lost after collection beside expired, per node and per fault', async (t) => {
  const text = renderConsoleResult(withBehaviour('real'));
  t.match(text, /expired\s*│\s*lost/);
  t.match(text, /expired 0, lost after collection 1 \|/);
});
