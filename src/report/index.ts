// report.html beside a run's artifacts: the API `train` uses and `tune` can call.
import { join } from 'node:path';
import { writeFileAtomic } from '../artifacts/atomic.js';
import { collectReportData, type ReportData } from './data.js';
import { renderReport, type RenderOptions } from './html.js';

export const REPORT_FILE = 'report.html';

export { collectReportData, itemPopularity, runVersions, writeRunInfo, RUN_FILE } from './data.js';
export type { DatasetSummary, ItemPopularity, ModelMetrics, ReportData, RunInfo, Trial } from './data.js';
export { renderReport, CSP, type RenderOptions } from './html.js';
export type { LeaderboardColumn, LeaderboardRow } from './leaderboard.js';

/**
 * Renders `data` and writes `<runDir>/report.html` atomically (a reader sees the previous
 * report or the whole new one). Returns the path and its size in bytes.
 */
export async function writeReport(runDir: string, data: ReportData, opts: RenderOptions = {}): Promise<{ path: string; bytes: number }> {
  const path = join(runDir, REPORT_FILE);
  const html = renderReport(data, opts);
  await writeFileAtomic(path, html);
  return { path, bytes: Buffer.byteLength(html) };
}

/** Re-renders the report of a run folder from its run.json and the models' metrics.json. */
export async function rewriteReport(runDir: string, opts: RenderOptions = {}): Promise<{ path: string; bytes: number }> {
  return writeReport(runDir, await collectReportData(runDir), opts);
}
