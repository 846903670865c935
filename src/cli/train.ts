import { loadConfig, type Config } from '../config/index.js';
import { CfError, CfErrorCode, isCfError } from '../errors.js';
import { runTrain } from '../pipeline/train.js';
import { BASELINE_TYPE } from '../models/registry.js';
import { demoConfig } from '../pipeline/demo.js';
import { formatMetricsTable } from '../report/table.js';
import { rewriteReport } from '../report/index.js';
import { formatLeaderboard } from '../leaderboard/index.js';
import { fitProgress } from './progress.js';

/** What models that predict ratings report beside the ranking metrics (see Recommender.evaluate). */
const RATING_METRICS = ['rmse', 'mae'] as const;

/**
 * Returns the exit code: 0 ok, 2 bad config or input, 130 stopped by Ctrl-C or SIGTERM (after
 * the current iteration, with a checkpoint to resume from), 1 anything unexpected.
 */
export async function runTrainCommand(configPath: string | undefined, o: { quiet: boolean; report?: boolean; resume?: boolean; engine?: unknown; master?: unknown }): Promise<number> {
  const { say, onProgress } = fitProgress({ quiet: o.quiet });
  // The first Ctrl-C (or SIGTERM) lets the fit under way finish its iteration and save a
  // checkpoint; a second one quits at once.
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      process.stderr.write(`\ncf-native: ${sig} again: quitting now (the last checkpoint is kept)\n`);
      process.exit(130);
    }
    stop.abort();
    say(`${sig}: stopping after the current iteration (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again to quit at once)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const resumeHint = `cf-native train${configPath !== undefined ? ` ${configPath}` : ''} --resume`;
  try {
    // An empty argument (`train "$CONFIG"` with the variable unset) is a config path that
    // names nothing, not a request for the demo.
    const config: Config = withEngine(configPath !== undefined ? loadConfig(configPath) : demoConfig(), o.engine, o.master);
    if (configPath === undefined) say('no config given: training the demo on the embedded ml-latest-small dataset');
    const report = await runTrain(config, {
      report: o.report ?? true,
      log: say,
      onProgress,
      resume: o.resume ?? false,
      stop: stop.signal,
    });
    const ks = config.evaluate.k;
    const part = report.models[0]?.test ? 'test' : 'valid';
    const rows = [
      ...report.models.map((m) => ({ name: m.name, metrics: m[part] ?? {} })),
      { name: `${BASELINE_TYPE} (baseline)`, metrics: report.baseline[part] ?? {} },
    ];
    // Rating metrics only when a model predicts ratings: a column of '-' says nothing.
    const ratingCols = RATING_METRICS.filter((c) => rows.some((r) => Object.prototype.hasOwnProperty.call(r.metrics, c)));
    const cols = [...ks.flatMap((k) => [`recall@${k}`, `ndcg@${k}`]), ...ratingCols];
    process.stdout.write(`\n${part} metrics, ${report.usersEvaluated} users:\n${formatMetricsTable(rows, cols)}\n`);
    // Several models: the leaderboard, with intervals and the new metrics (all of them in
    // leaderboard.json / .csv beside the model folders).
    const lb = report.leaderboard;
    if (lb && config.models.length > 1) {
      const b = lb.bootstrap;
      process.stdout.write(
        `\nleaderboard (${lb.split}, ${lb.users} users; ${Math.round(b.level * 100)}% intervals from ${b.resamples} paired bootstrap resamples of the users; * best, = not significantly different from the best):\n${formatLeaderboard(lb)}\n`,
      );
    }
    process.stdout.write(`artifacts: ${report.output}\n`);
    if (report.reportPath) process.stdout.write(`report: ${report.reportPath}\n`);
    return 0;
  } catch (err) {
    if (isCfError(err, CfErrorCode.INTERRUPTED)) {
      process.stderr.write(`cf-native: interrupted: ${err.message}\nresume with: ${resumeHint}\n`);
      return 130;
    }
    if (isCfError(err)) {
      process.stderr.write(`cf-native: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`cf-native: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `--engine spark [--master URL]`: every als model of the config is fitted by Spark. */
function withEngine(config: Config, engine: unknown, master: unknown): Config {
  if (engine === undefined) {
    if (master !== undefined) throw new CfError('ERR_CF_INVALID_ARG', '--master is only read with --engine spark');
    return config;
  }
  if (engine === 'native') return config;
  if (engine !== 'spark') throw new CfError('ERR_CF_INVALID_ARG', `--engine must be spark or native (got ${JSON.stringify(String(engine))})`);
  if (master !== undefined && (typeof master !== 'string' || master === '')) throw new CfError('ERR_CF_INVALID_ARG', '--master needs a Spark master URL (local[2], spark://host:7077, yarn, ...)');
  if (!config.models.some((m) => m.type === 'als')) throw new CfError('ERR_CF_INVALID_ARG', '--engine spark trains als models, and the config has none');
  const models = config.models.map((m) => {
    if (m.type !== 'als') return m;
    const base = m.spark ?? { master: null, python: null, driver_memory: null, conf: {}, workdir: null, keep_files: false };
    return { ...m, engine: 'spark' as const, spark: { ...base, ...(master !== undefined ? { master: master as string } : {}) } };
  });
  // Checked again by runTrain (a grid or log confidence is refused there, naming the model).
  return { ...config, models };
}

/** `cf-native report DIR`: 0 with the path printed, 2 when the folder holds no run to render. */
export async function reportCommand(dir: string): Promise<number> {
  try {
    const r = await rewriteReport(dir);
    process.stdout.write(`report: ${r.path} (${Math.ceil(r.bytes / 1024)} KiB)\n`);
    return 0;
  } catch (err) {
    if (isCfError(err)) {
      process.stderr.write(`cf-native: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`cf-native: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
