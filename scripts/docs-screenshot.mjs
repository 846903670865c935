#!/usr/bin/env node
// Renders the server's /docs (Swagger UI) in headless Chromium: writes a screenshot and
// checks that the page's script drew the routes (an "opblock" per operation in the DOM).
// usage: node scripts/docs-screenshot.mjs MODEL_PATH OUT.png   (exit 0 when rendered)

import { existsSync } from 'node:fs';
import { createServer } from '../dist/server/index.js';

export function findChromium() {
  for (const c of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (c && existsSync(c)) return c;
  }
  return null;
}

export async function renderDocs(modelPath, out) {
  const chromium = findChromium();
  if (!chromium) throw new Error('no Chromium found (apt-get install chromium, or set CHROMIUM)');
  const app = await createServer({ path: modelPath, watchMs: 0, feedbackLog: null });
  try {
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `${base}/docs/`;
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars', '--virtual-time-budget=10000'];
    // Chromium runs while this process serves the page, so it must not block the event loop.
    const run = (args) =>
      new Promise((resolve) => {
        import('node:child_process').then(({ execFile }) =>
          execFile(chromium, [...flags, ...args, url], { maxBuffer: 1 << 26, timeout: 60_000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr })),
        );
      });
    const dom = await run(['--dump-dom']);
    if (dom.err) throw new Error(`chromium --dump-dom failed: ${dom.err.message}\n${dom.stderr}`);
    const operations = (dom.stdout.match(/class="opblock opblock-/g) ?? []).length;
    const shot = await run([`--screenshot=${out}`, '--window-size=1280,2200']);
    if (shot.err || !existsSync(out)) throw new Error(`chromium --screenshot failed: ${shot.err?.message}\n${shot.stderr}`);
    return { url, operations, title: /<title>([^<]*)<\/title>/.exec(dom.stdout)?.[1] ?? null };
  } finally {
    await app.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [path, out] = process.argv.slice(2);
  if (!path || !out) {
    console.error('usage: node scripts/docs-screenshot.mjs MODEL_PATH OUT.png');
    process.exit(2);
  }
  const r = await renderDocs(path, out);
  console.log(`${r.url}: ${r.operations} operations rendered, title ${JSON.stringify(r.title)}; screenshot ${out}`);
  process.exit(r.operations > 0 ? 0 : 1);
}
