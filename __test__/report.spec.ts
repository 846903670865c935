// report.html: one self-contained page beside a run's artifacts. Checked as text (size,
// sections, escaping, no external reference) and, where Chromium is installed (.ci/run
// installs it), rendered headless: no console error, no request but file: and data:,
// marks in every chart, and a screenshot.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_RATINGS, parseConfig, runTrain } from '../src/index.js';
import { collectReportData, CSP, itemPopularity, renderReport, writeReport, type ReportData } from '../src/report/index.js';
import { escapeXml, formatTick, niceTicks, tickLabels } from '../src/report/svg.js';

const root = join(import.meta.dirname, '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`report.spec: ${CHROMIUM} not found, the headless-browser checks are skipped (apt-get install chromium; .ci/run does)`);

/** A name with every character that means something in HTML, and a script to run if it leaked. */
const EVIL = `x"'<script>alert(1)</script>&amp;<img src=x onerror=alert(2)>`;

/** Ranking models on binary positives: a grid, a BPR learning curve with validation, svd's explained variance. */
const rankingYaml = (out: string, data: string) => `data:
  path: ${JSON.stringify(data)}
  header: true
  positive_threshold: 4
  min_user_interactions: 3
split: { strategy: leave-last-out, valid: 1, test: 1, seed: 42 }
models:
  - type: als
    params: { factors: [8, 16, 32], iterations: 6 }
  - type: bpr
    params: { factors: 16, epochs: 12, eval_every: 2 }
  - type: svd
    params: { factors: [4, 8, 16] }
  - type: popularity
evaluate: { k: [10, 20] }
output: ${JSON.stringify(out)}
`;

/** Rating models: mf's RMSE curve, svd's rated modes chosen by RMSE over a categorical parameter. */
const ratingYaml = (out: string) => `data:
  path: ${JSON.stringify(EMBEDDED_RATINGS)}
  header: true
  values: rating
split: { strategy: random, valid: 0.1, test: 0.1, seed: 3 }
models:
  - type: mf
    params: { factors: 8, epochs: 6 }
  - type: svd
    params: { factors: [4, 8], centering: [rated_user, rated_item] }
evaluate: { k: [10] }
output: ${JSON.stringify(out)}
`;

function assertSelfContained(html: string): void {
  expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${CSP}">`);
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/<(link|iframe|object|embed|img)\b/i);
  // No event-handler attribute in any tag (attribute values, where escaped names live, aside).
  expect(html.replace(/="[^"]*"/g, '=""')).not.toMatch(/<[^>]*\son[a-z]+\s*=/i);
  // The only URL is the SVG namespace, which is a name, not a request.
  expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
  expect(Buffer.byteLength(html)).toBeLessThan(1 << 20);
}

/** Opens each page in headless Chromium; returns what it saw. */
async function inBrowser(pages: { file: string; screenshot: string }[]) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const seen = [];
    for (const p of pages) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (r) => {
        if (!/^(file|data):/.test(r.url())) requests.push(r.url());
      });
      await page.goto(pathToFileURL(p.file).href, { waitUntil: 'load' });
      const charts = await page.$$eval('svg', (svgs) =>
        svgs.map((s) => {
          const box = s.getBoundingClientRect();
          return { title: s.getAttribute('aria-label'), marks: s.querySelectorAll('.mark').length, width: box.width, height: box.height };
        }),
      );
      const alerted = await page.locator('script, img').count();
      await page.screenshot({ path: p.screenshot, fullPage: true });
      seen.push({ errors, requests, charts, alerted, png: (await stat(p.screenshot)).size });
      await page.close();
    }
    return seen;
  } finally {
    await browser.close();
  }
}

describe('report.html', () => {
  it('escapes every string from a config or metrics file', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const metrics = { 'ndcg@10': 0.1, 'recall@10': 0.2 };
    const data: ReportData = {
      output: `/tmp/${EVIL}`,
      run: {
        format_version: 1,
        command: 'train',
        created_at: EVIL,
        config: { data: { path: `/data/${EVIL}.csv` }, models: [{ type: 'als', name: EVIL, params: { solver: EVIL }, grid: { solver: [EVIL, 'cg'] } }] },
        versions: { 'cf-native': EVIL, git: null, node: 'v20' },
        data_hash: EVIL,
        dataset: { users: 3, items: 4, rows: 6, train: 4, valid: 1, test: 1, usersEvaluated: 1, usersWithoutTrain: 0 },
        item_popularity: itemPopularity([2, 1, 1, 0]),
        models: [EVIL],
      },
      models: [
        {
          model: EVIL,
          name: EVIL,
          params: { solver: EVIL, factors: 4 },
          train_seconds: 0.5,
          valid: metrics,
          test: metrics,
          baseline: { popularity: { 'ndcg@10': 0.05, 'recall@10': 0.1 } },
          baseline_valid: { popularity: { 'ndcg@10': 0.05, 'recall@10': 0.1 } },
          curve: [{ epoch: 1, loss: 1 }, { epoch: 2, loss: 0.5, bestEpoch: 2 }],
          tuning: { by: 'ndcg@10', grid: { solver: [EVIL, 'cg'] }, trials: [{ params: { solver: EVIL }, train_seconds: 1, valid: metrics, test: metrics }, { params: { solver: 'cg' }, train_seconds: 1, valid: metrics, test: metrics }] },
        },
      ],
    };
    const html = renderReport(data, { extraColumns: [{ header: `CI ${EVIL}`, cell: (r) => (r.source ? `[0.1, ${String(r.source.train_seconds)}]` : '') }] });
    assertSelfContained(html);
    expect(html).not.toContain('<img');
    expect(html).not.toContain(EVIL);
    expect(html).toContain(escapeXml(EVIL));
    // The data hash, the config's path and the version strings are shown, escaped.
    expect(html).toContain(`/data/${escapeXml(EVIL)}.csv`);
    // An added leaderboard column (e.g. bootstrap CIs) appears with its header escaped.
    expect(html).toContain(`>CI ${escapeXml(EVIL)}</th>`);
    expect(html).toContain('<td>[0.1, 0.5]</td>');
    expect(html).toContain('+100.0%');
    // A run without held-out rows says so instead of drawing an empty table.
    const unevaluated = renderReport({ ...data, models: data.models.map((m) => ({ ...m, valid: null, test: null, tuning: undefined })) });
    expect(unevaluated).toContain('Nothing was evaluated');
    expect(unevaluated).not.toContain('class="leaderboard"');
  });

  it('draws axes with round ticks and short labels', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.0288, 0.0462)).toEqual([0.03, 0.035, 0.04, 0.045]);
    // Labels carry the decimals their step needs: 0.9095 and 0.91 must not both read 0.91.
    expect(tickLabels([0.9095, 0.91, 0.9105])).toEqual(['0.9095', '0.9100', '0.9105']);
    expect(tickLabels([0, 0.5, 1])).toEqual(['0.0', '0.5', '1.0']);
    expect(['0', '0.0362', '12', '1500', '25k', '2M'].join()).toBe([0, 0.0362, 12, 1500, 25000, 2e6].map(formatTick).join());
    const pop = itemPopularity(Float32Array.from([5, 0, 1, 3, 1]));
    expect(pop).toMatchObject({ items: 5, interactions: 10, itemsWithoutTrain: 1 });
    expect(pop.curve[0]).toEqual([1, 5]);
    expect(pop.topShare['20%']).toBeCloseTo(0.5);
  });

  it('is written beside the artifacts of a train run, and re-rendered from them the same', async () => {
    // An output folder and a data path whose names are markup: they reach the page only escaped.
    const dir = await mkdtemp(join(tmpdir(), 'cf-report-'));
    const data = join(dir, `ratings ${EVIL.replaceAll('/', '')}.csv.gz`);
    await copyFile(EMBEDDED_RATINGS, data);
    const out = join(dir, `out ${EVIL.replaceAll('/', '')}`);
    const lines: string[] = [];
    const report = await runTrain(parseConfig(rankingYaml(out, data), 'report.yaml'), { log: (l) => lines.push(l) });
    expect(report.reportPath).toBe(join(out, 'report.html'));
    const html = await readFile(report.reportPath!, 'utf8');
    assertSelfContained(html);
    expect(html).not.toContain(EVIL.replaceAll('/', ''));
    expect(html).toContain(escapeXml(EVIL.replaceAll('/', '')));
    expect(lines.some((l) => /^report: .*report\.html \(\d+ KiB\)$/.test(l))).toBe(true);

    // Dataset summary, leaderboard with every metric at every K, tuning, curves, run facts.
    for (const text of ['Dataset', 'Leaderboard', 'Validation against test', 'Tuning curves', 'Learning curves', 'Run']) expect(html).toContain(`>${text}</h2>`);
    expect(html).toMatch(/<b>608<\/b><span>users<\/span>/);
    expect(html).toContain('Item popularity (long tail)');
    for (const k of [10, 20]) {
      expect(html).toContain(`<th colspan="5" class="group">@${k}</th>`);
      for (const m of ['ndcg', 'recall', 'precision', 'map', 'hit_rate']) expect(html).toContain(` title="${m}@${k}; below: change over the popularity baseline">${m.replace('_', ' ')}</th>`);
    }
    expect(html).toMatch(/als: ndcg@10 against factors/);
    expect(html).toMatch(/svd: explained variance against factors/);
    expect(html).toMatch(/bpr: training loss/);
    expect(html).toMatch(/bpr: validation NDCG@10/);
    expect(html).toMatch(/factors: \[ 8, 16, 32 \]/);
    const run = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
    expect(html).toContain(run.data_hash);
    expect(html).toContain(run.versions['cf-native']);
    expect(run.models).toEqual(['als', 'bpr', 'svd', 'popularity']);
    expect(run.item_popularity.interactions).toBe(report.dataset.train);
    // The objective's bootstrap interval and significance mark, from leaderboard.json.
    const lb = JSON.parse(await readFile(join(out, 'leaderboard.json'), 'utf8'));
    expect(html).toContain(`${lb.objective} 95 % CI</th>`);
    const top = lb.models.find((m: { rank: number }) => m.rank === 1);
    const ci = top.metrics[lb.objective].ci as [number, number];
    expect(html).toContain(`${ci[0].toFixed(4)} – ${ci[1].toFixed(4)}`);
    expect(html).toMatch(/>best</);

    // `cf-native report` renders the same page from the saved files.
    await mkdir(join(dir, 'again'));
    const again = await writeReport(join(dir, 'again'), await collectReportData(out));
    expect(await readFile(again.path, 'utf8')).toBe(html);
  });

  it('can be skipped, and re-rendered by the command line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-report-'));
    const out = join(dir, 'out');
    const yaml = rankingYaml(out, EMBEDDED_RATINGS).replace(/models:[\s\S]*evaluate/, 'models:\n  - type: popularity\nevaluate');
    const r = await runTrain(parseConfig(yaml, 'report.yaml'), { report: false });
    expect(r.reportPath).toBeNull();
    expect(existsSync(join(out, 'report.html'))).toBe(false);
    expect(existsSync(join(out, 'run.json'))).toBe(true);
    const cli = join(root, 'dist/cli/main.js');
    if (!existsSync(cli)) return console.warn('report.spec: dist/ not built (npm run build:ts), the CLI check is skipped');
    const p = spawnSync(process.execPath, [cli, 'report', out], { encoding: 'utf8' });
    expect(p.stderr).toBe('');
    expect(p.status).toBe(0);
    expect(p.stdout).toMatch(/^report: .*report\.html \(\d+ KiB\)\n$/);
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain('>Leaderboard</h2>');
    const bad = spawnSync(process.execPath, [cli, 'report', dir], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^cf-native: cannot read .*run\.json \(written by cf-native train; run it again to get one\): no such file\n$/);
  });

  it.skipIf(!hasChromium)('renders in headless Chromium with no error, no request and marks in every chart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-report-'));
    const a = await runTrain(parseConfig(rankingYaml(join(dir, 'ranking'), EMBEDDED_RATINGS), 'ranking.yaml'));
    const b = await runTrain(parseConfig(ratingYaml(join(dir, 'rating')), 'rating.yaml'));
    const ratingHtml = await readFile(b.reportPath!, 'utf8');
    assertSelfContained(ratingHtml);
    expect(ratingHtml).toMatch(/mf: RMSE/);
    expect(ratingHtml).toMatch(/svd: rmse against centering/);
    const seen = await inBrowser([
      { file: a.reportPath!, screenshot: join(dir, 'ranking.png') },
      { file: b.reportPath!, screenshot: join(dir, 'rating.png') },
    ]);
    for (const s of seen) {
      expect(s.errors).toEqual([]);
      expect(s.requests).toEqual([]);
      expect(s.alerted).toBe(0);
      expect(s.charts.length).toBeGreaterThanOrEqual(5);
      for (const c of s.charts) {
        expect(c.marks, `chart "${c.title}" has no marks`).toBeGreaterThan(0);
        expect(c.width).toBeGreaterThan(200);
      }
      expect(s.png).toBeGreaterThan(50_000);
    }
    console.log(`report.spec: screenshots in ${dir}`);
  }, 60_000);
});
