import t from 'tap';
import { copyFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderHtml } from '../../src/report/render-html.js';
import { findAll, parseXml } from '../helpers/report-xml.js';
import { loadComparison, loadResult } from '../helpers/report-fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const BROWSER_TIMEOUT_MS = 30_000;
const SCREENSHOT_COPY = '/tmp/pollfleet-report.png';

function svgs(html: string): string[] {
  return html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
}

t.test('single run: self-contained, verdict banner, accessible charts with drawn shapes', async (t) => {
  const html = renderHtml(loadResult('result-fail-single-address'));
  t.match(html, /^<!doctype html>/);
  t.match(html, /<header class="banner fail" role="status"[^>]*><div class="verdict">FAIL<\/div>/);
  t.match(html, /<li>coverage\.min was 33\.3 %, expected &gt;= 100 %<\/li>/, 'reasons in the banner, escaped');
  t.notMatch(html, /<script/i, 'no scripts at all');
  t.notMatch(html, /<link/i, 'no linked stylesheets or fonts');
  t.notMatch(html, /(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i, 'no external URLs in src/href');
  t.notMatch(html, /@import|url\(/i, 'no CSS fetches');

  const charts = svgs(html);
  t.equal(charts.length, 7, 'coverage, connected, pickup, matrix, handshakes, reconnects, handshake timing');
  for (const svg of charts) {
    const el = parseXml(svg).children[0]!; // well-formed XML
    t.equal(el.attrs.role, 'img');
    const [titleId, descId] = el.attrs['aria-labelledby']!.split(' ');
    t.ok(findAll(el, 'title').some((x) => x.attrs.id === titleId && x.text.length > 0), `${el.attrs.id} has a title`);
    t.ok(findAll(el, 'desc').some((x) => x.attrs.id === descId && x.text.length > 0), `${el.attrs.id} has a description`);
    const paths = findAll(el, 'path').filter((p) => /^M[\d.]+ [\d.]+ L/.test(p.attrs.d ?? ''));
    const rects = findAll(el, 'rect').filter((r) => Number(r.attrs.width) > 0 && Number(r.attrs.height) > 0);
    t.ok(paths.length + rects.length > 0, `${el.attrs.id} draws something`);
  }
  const matrix = parseXml(charts.find((s) => s.includes('id="r0-matrix-chart"'))!).children[0]!;
  const cells = findAll(matrix, 'rect').filter((r) => r.attrs.class === 'cell');
  t.equal(cells.length, 18, '6 tentacles x 3 nodes');
  t.same(cells.slice(0, 3).map((c) => c.attrs.fill), ['#1a7f37', '#cf222e', '#cf222e'], 'node1 green, node2/node3 red');
  t.match(findAll(cells[1]!, 'title')[0]!.text, /tentacle 1 × node2: polled 0 %/);
  t.match(html, /node2 and node3 were never polled/, 'diagnosis present');
  t.match(html, /<td class="num bad">0 — never polled<\/td>/);
});

t.test('fault windows are shaded on the time charts', async (t) => {
  const html = renderHtml(loadResult('result-fault'));
  const cov = parseXml(svgs(html).find((s) => s.includes('id="r0-coverage-chart"'))!).children[0]!;
  const win = findAll(cov, 'rect').find((r) => r.attrs.fill === '#cf222e')!;
  t.ok(win, 'a shaded window');
  // x axis 0..60 s over 52..624 px: 0:20..0:35 -> 242.7..385.7
  t.equal(Number(win.attrs.x).toFixed(0), '243');
  t.equal(Number(win.attrs.width).toFixed(0), '143');
  t.match(findAll(win, 'title')[0]!.text, /crash@node2 0:20–0:35/);
  t.match(html, /node2 crashed at 0:20 for 15 s/);
  t.match(html, /<dt>Time to full coverage<\/dt><dd>12 s<\/dd>/);
});

t.test('comparison: one card per variant side by side, each with a mini coverage chart', async (t) => {
  const html = renderHtml(loadComparison());
  const cards = html.match(/<article class="card (pass|fail)">/g) ?? [];
  t.same(cards.map((c) => c.includes('pass')), [true, true, false]);
  for (const i of [0, 1, 2]) t.match(html, new RegExp(`id="card-${i}-coverage"`), `card ${i} chart`);
  t.match(html, /<dt>Handshake failures<\/dt><dd>2<\/dd>/);
  t.match(html, /<dt>Never polled<\/dt><dd>node2, node3<\/dd>/);
  t.equal((html.match(/<section class="run"/g) ?? []).length, 3, 'each run in full below');
  const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
  t.equal(new Set(ids).size, ids.length, 'element ids are unique on the page');
});

/**
 * A comparison whose variants share route kinds, as compare-aws.yaml's do (alb and
 * alb-websocket are both `alb`), with a diagnosis carrying two thumbprints unbroken.
 */
const LONG_THUMBPRINTS =
  'The tentacle saw certificate 0123456789ABCDEF0123456789ABCDEF01234567ABCDEF0123456789ABCDEF0123456789ABCDEF012345 instead of 77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA677751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6.';
function variantsComparison(): ReturnType<typeof loadComparison> {
  const c = loadComparison();
  c.runs[0]!.name = 'direct-websocket'; // route direct
  c.runs[1]!.name = `${c.name}/nlb-unique-port`; // the older <comparison>/<variant> form
  c.runs[2]!.name = 'alb-websocket'; // route alb
  c.runs[2]!.diagnosis = [...c.runs[2]!.diagnosis, LONG_THUMBPRINTS];
  return c;
}

t.test('comparison: cards and sections are titled with the variant, not the route kind', async (t) => {
  const html = renderHtml(variantsComparison());
  const cardTitles = [...html.matchAll(/<article class="card [a-z]+"><h2><a href="#run-\d">([^<]*)<\/a><\/h2>/g)].map((m) => m[1]);
  t.same(cardTitles, ['direct-websocket', 'nlb-unique-port', 'alb-websocket']);
  const sectionTitles = [...html.matchAll(/<section class="run" id="run-\d"><h2>([^<]*?) <span/g)].map((m) => m[1]);
  t.same(sectionTitles, ['direct-websocket', 'nlb-unique-port', 'alb-websocket']);
  t.match(html, /<li>alb-websocket: fail/, 'the banner lists variants');
  t.match(html, /<title id="[^"]*">Coverage over time, alb-websocket<\/title>/, 'the card chart is named after the variant');
  t.match(html, /route alb, per-node queue, balancer alb/, 'the route kind is still shown, as a detail');
});

t.test('all text is escaped', async (t) => {
  const r = loadResult('result-pass-direct');
  r.name = '<script>alert(1)</script>';
  r.nodes[0]!.name = 'n"><img src=x onerror=alert(1)>';
  r.matrix.nodes[0] = r.nodes[0]!.name;
  r.diagnosis = ['a & b < c'];
  const html = renderHtml(r);
  t.notMatch(html, /<script>alert/);
  t.notMatch(html, /<img/);
  t.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  t.match(html, /a &amp; b &lt; c/);
  for (const svg of svgs(html)) parseXml(svg);
});

const chromiumMissing = !existsSync(CHROMIUM);
const skipBrowser = chromiumMissing && process.env.CI !== 'true'
  ? `${CHROMIUM} is missing: the browser check is skipped (install with apt-get install -y chromium)`
  : false;

t.test('a day-long timeline: rendered, charts thinned to what a chart can show, dips kept', async (t) => {
  const r = loadResult('result-fail-single-address');
  const template = r.timeline[r.timeline.length - 1]!;
  const nodeName = r.nodes[0]!.name;
  // one point per second for 36 hours (past where a spread of every point overflowed the stack)
  r.timeline = Array.from({ length: 129_600 }, (_, i) => ({
    ...template,
    t: i * 1000,
    coverage: i === 100_000 ? 0.25 : 1,
    handshakes: i === 50_000 ? 900 : 1,
    nodes: { ...template.nodes, [nodeName]: i === 100_000 ? 0 : 5 },
  }));
  r.durationMs = 129_600_000;
  const html = renderHtml(r);
  const coverage = svgs(html).find((s) => s.includes('id="r0-coverage-chart"'))!;
  const line = /<path d="(M[^"]+)"[^>]*class="line"/.exec(coverage)![1]!;
  const points = line.split(/[ML]/).filter((x) => x.trim() !== '');
  t.ok(points.length <= 2000, `coverage line: ${points.length} points, not 129,600`);
  const ys = points.map((p) => Number(p.trim().split(' ')[1]));
  t.ok(new Set(ys).size === 2, 'the one-second dip to 25 % is still drawn (two levels)');
  const handshakes = svgs(html).find((s) => s.includes('id="r0-handshakes-chart"'))!;
  const columns = handshakes.match(/class="column"/g) ?? [];
  t.ok(columns.length > 0 && columns.length <= 600, `handshake columns: ${columns.length}`);
  t.match(handshakes, /busiest interval 900 handshakes/, 'the burst second is its span\'s column');
  t.ok(html.length < 2_000_000, `report size ${html.length} bytes`);
});

t.test('renders in headless Chromium without errors', { skip: skipBrowser }, async (t) => {
  if (chromiumMissing) {
    t.fail(`${CHROMIUM} is missing (CI=true); install it (apt-get install -y chromium) so the HTML report is checked in a browser`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: BROWSER_TIMEOUT_MS,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const dir = t.testdir();
  const cases = [
    { name: 'fault', html: renderHtml(loadResult('result-fault')), charts: 7 },
    { name: 'fail', html: renderHtml(loadResult('result-fail-single-address')), charts: 7 },
    { name: 'comparison', html: renderHtml(variantsComparison()), charts: 3 + 3 * 7 },
  ];
  for (const c of cases) {
    const file = join(dir, `${c.name}.html`);
    writeFileSync(file, c.html);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.setDefaultTimeout(BROWSER_TIMEOUT_MS);
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    t.same(problems, [], `${c.name}: no console errors`);
    t.same(requests, [], `${c.name}: no network requests`);
    const boxes = await page.$$eval('svg.chart', (els) =>
      els.map((el) => {
        const r = el.getBoundingClientRect();
        const shapes = Array.from(el.querySelectorAll('path, rect')).filter((s) => {
          const b = (s as SVGGraphicsElement).getBBox();
          return b.width > 0 || b.height > 0;
        }).length;
        const empty = el.querySelector('text.empty') !== null;
        return { id: el.id, width: r.width, height: r.height, shapes, empty };
      }),
    );
    t.equal(boxes.length, c.charts, `${c.name}: ${c.charts} charts`);
    for (const b of boxes) {
      t.ok(b.width > 50 && b.height > 30, `${c.name}/${b.id}: visible box ${Math.round(b.width)}x${Math.round(b.height)}`);
      t.ok(b.shapes > 0 || b.empty, `${c.name}/${b.id}: drawn shapes, or says it has no data`);
    }
    if (c.name === 'comparison') {
      // Long thumbprints wrap inside their card instead of running out of it.
      const cards = await page.$$eval('article.card', (els) => els.map((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, text: el.textContent ?? '' })));
      t.equal(cards.length, 3);
      t.ok(cards[2]!.text.includes('77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6'), 'the long thumbprint is in the last card');
      for (const [i, card] of cards.entries()) t.ok(card.scroll <= card.client + 1, `card ${i}: content ${card.scroll}px fits its ${card.client}px box`);
    }
    const banner = await page.locator('header.banner .verdict').first().textContent();
    t.equal(banner, c.name === 'fail' ? 'FAIL' : 'PASS');
    const shot = join(dir, `${c.name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    t.ok(statSync(shot).size > 10_000, `${c.name}: screenshot written`);
    if (c.name === 'fault') copyFileSync(shot, SCREENSHOT_COPY);
    await page.close();
  }
});
