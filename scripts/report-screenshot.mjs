#!/usr/bin/env node
// Screenshot of a report.html in headless Chromium (docs/report.png in the README, of
// docs/report-example.yaml), from the top down to the Run section (the config text below it
// says nothing in a picture).
// usage: node scripts/report-screenshot.mjs REPORT.html OUT.png [WIDTH]
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [file, out, width = '1200'] = process.argv.slice(2);
if (!file || !out) {
  console.error('usage: node scripts/report-screenshot.mjs REPORT.html OUT.png [WIDTH]');
  process.exit(2);
}
const executablePath = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((c) => c && existsSync(c));
if (!executablePath) {
  console.error('no Chromium found (apt-get install chromium, or set CHROMIUM)');
  process.exit(2);
}
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: Number(width), height: 900 } });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const bottom = await page.$eval('#run', (h) => h.getBoundingClientRect().top + window.scrollY - 8).catch(() => null);
  const height = bottom ?? (await page.evaluate(() => document.documentElement.scrollHeight));
  await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: Number(width), height } });
  console.log(`${out}: ${Number(width)} x ${Math.round(height)}`);
} finally {
  await browser.close();
}
