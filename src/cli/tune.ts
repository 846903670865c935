import { loadConfig } from '../config/index.js';
import { CfError, CfErrorCode, isCfError } from '../errors.js';
import { runTune } from '../tune/index.js';
import { fitProgress } from './progress.js';

/** `cf-native tune CONFIG`: 0 ok, 2 bad config or input, 1 anything unexpected, 130 interrupted (resume by running it again). */
export async function runTuneCommand(configPath: string, o: { quiet: boolean; fresh: boolean; resume: boolean; report: boolean }): Promise<number> {
  const { say, onProgress } = fitProgress({ quiet: o.quiet });
  // Ctrl-C ends the trial in flight; the finished ones are in tuning.json, and the same command resumes.
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    if (o.fresh && o.resume) throw new CfError(CfErrorCode.INVALID_ARG, '--fresh and --resume contradict each other: give one');
    const config = loadConfig(configPath);
    // Without a tune: block, the study runs on every default (src/tune/defaults.ts).
    const r = await runTune(config, {
      log: say,
      onProgress,
      fresh: o.fresh,
      report: o.report,
      signal: ac.signal,
    });
    const objective = r.objective;
    const b = r.best;
    const fmt = (x: number | undefined | null) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(4));
    process.stdout.write(
      `\nbest of ${r.trials.length} trials (${r.trials.filter((t) => t.status === 'failed').length} failed, ${r.resumed} resumed): trial ${b.number + 1}, ${b.model}\n` +
        `  ${Object.entries(r.trials[b.number]!.params).map(([k, v]) => `${k}=${v}`).join(' ') || '(its params as configured)'}\n` +
        `  valid ${objective} ${fmt(b.valid?.[objective])}, test ${objective} ${fmt(b.test?.[objective])}\n` +
        `model: ${b.dir}\ntrials: ${r.tuningPath}\nbest config: ${r.bestConfigPath}\n${r.reportPath ? `report: ${r.reportPath}\n` : ''}`,
    );
    return 0;
  } catch (err) {
    if (ac.signal.aborted) {
      process.stderr.write('cf-native: interrupted; the finished trials are saved, and running the same command resumes the study\n');
      return 130;
    }
    if (isCfError(err)) {
      process.stderr.write(`cf-native: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`cf-native: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
