#!/usr/bin/env node
// cf-native command line: thin over the programmatic API so tests can call the same code.
import { cac } from 'cac';
import { isCfError } from '../errors.js';
import { packageVersion } from '../artifacts/version.js';
import type { ServeFlags } from './serve.js';
import { relaunchForGc } from './gc.js';

// Each command's module (and through it the native addon) is imported when that command runs:
// the process `serve` relaunches under --single-threaded-gc stays alive only to pass signals
// on, and `--help` should not load the addon either.

const cli = cac('cf-native');

cli
  .command('train [config]', 'Train, evaluate and save the models of a YAML config (default: a demo on the embedded MovieLens data)')
  .option('--quiet', 'Only print the final table')
  .option('--no-report', 'Do not write report.html beside the models')
  .option('--resume', 'Continue the run interrupted in the output folder (saved models are kept, the fit under way continues from its checkpoint)')
  .option('--engine <engine>', 'spark: fit every als model of the config with Apache Spark (PySpark; see README "Spark")')
  .option('--master <url>', 'Spark master URL with --engine spark (default local[threads])')
  .action(async (config: string | undefined, opts: { quiet?: boolean; report?: boolean; resume?: boolean; engine?: unknown; master?: unknown }) => {
    const { runTrainCommand } = await import('./train.js');
    process.exitCode = await runTrainCommand(config, { quiet: opts.quiet ?? false, report: opts.report !== false, resume: opts.resume ?? false, engine: opts.engine, master: opts.master });
  });

cli
  .command('tune <config>', "Search the config's tune: block on validation, refit the best on train, evaluate it once on test and save it (resumes an interrupted study)")
  .option('--quiet', 'Only print the final summary')
  .option('--resume', 'Continue the study in OUTPUT/tuning.json (the default; says so explicitly)')
  .option('--fresh', 'Ignore OUTPUT/tuning.json and start the study over')
  .option('--no-report', 'Do not write report.html beside the model')
  .action(async (config: string, opts: { quiet?: boolean; fresh?: boolean; resume?: boolean; report?: boolean }) => {
    const { runTuneCommand } = await import('./tune.js');
    process.exitCode = await runTuneCommand(config, { quiet: opts.quiet ?? false, fresh: opts.fresh ?? false, resume: opts.resume ?? false, report: opts.report !== false });
  });

cli
  .command('report <out-dir>', "Render report.html again from a train run's output folder (run.json and the models' metrics.json)")
  .action(async (dir: string) => {
    const { reportCommand } = await import('./train.js');
    process.exitCode = await reportCommand(dir);
  });

cli
  .command('models [type]', 'List the model types, or the parameters of one (names, bounds, defaults)')
  .action(async (type: string | undefined) => {
    const { modelsCommand } = await import('./models.js');
    process.exitCode = modelsCommand(type);
  });

// Option values are read back from argv as typed (runListCommand): cac turns `--users 007` into 7.
cli
  .command('recommend <model-dir>', "Write every user's top-k items, with original ids, to a CSV, JSONL or Parquet file")
  .option('--users <all|file>', 'all (default), or a file of user ids, one per line')
  .option('--k <k>', 'Items per user (default 100; more than the catalogue gives every item)')
  .option('--out <file>', 'recs.csv, recs.jsonl or recs.parquet (format from the extension); - or absent: CSV on stdout')
  .option('--no-filter-seen', "Keep the items a user has in training (default: left out)")
  .option('--explain <n>', 'Add the n liked items that contributed most to each item (a because column; CSV or JSONL; kNN, content, EASE, ALS, hybrid)')
  .option('--quiet', 'Print nothing but errors')
  .action(async (dir: string, opts: { users?: unknown; k?: unknown; out?: unknown; filterSeen?: boolean; quiet?: boolean; explain?: unknown }) => {
    const { runListCommand } = await import('./recommend.js');
    process.exitCode = await runListCommand('recommend', dir, { ...opts, queries: opts.users, argv: ARGS });
  });

cli
  .command('similar <model-dir>', "Write every item's k most similar items, with original ids, to a CSV, JSONL or Parquet file")
  .option('--items <all|file>', 'all (default), or a file of item ids, one per line')
  .option('--k <k>', 'Similar items per item (default 10)')
  .option('--out <file>', 'similar.csv, .jsonl or .parquet (format from the extension); - or absent: CSV on stdout')
  .option('--quiet', 'Print nothing but errors')
  .action(async (dir: string, opts: { items?: unknown; k?: unknown; out?: unknown; quiet?: boolean }) => {
    const { runListCommand } = await import('./recommend.js');
    process.exitCode = await runListCommand('similar', dir, { ...opts, queries: opts.items, argv: ARGS });
  });

cli
  .command('factors <model-dir>', "Write a factor model's user and item factors, with original ids, as Parquet (the layout of Spark's factor tables)")
  .option('--out <dir>', 'Folder for user_factors.parquet and item_factors.parquet (required)')
  .action(async (dir: string, opts: { out?: unknown }) => {
    const { factorsCommand } = await import('./factors.js');
    process.exitCode = await factorsCommand(dir, opts.out);
  });

cli
  .command('export <format> <model-dir> <out>', 'Write a model in another format: spark (a folder PySpark\'s ALSModel.load reads, with the id maps beside it)')
  .action(async (format: string, dir: string, out: string) => {
    const { sparkCommand } = await import('./spark.js');
    process.exitCode = await sparkCommand('export', format, dir, out);
  });

cli
  .command('import <format> <source> <out>', 'Turn a model of another format into a cf-native model folder: spark (a saved Spark ALSModel folder)')
  .action(async (format: string, source: string, out: string) => {
    const { sparkCommand } = await import('./spark.js');
    process.exitCode = await sparkCommand('import', format, source, out);
  });

cli
  .command('serve <path>', 'Serve a model folder (or a train output folder of several) over HTTP')
  .option('--host <host>', 'Address to listen on (default 127.0.0.1)')
  .option('--port <port>', 'Port (default 8080; 0 picks a free one)')
  .option('--model <name>', 'The default model (default: the best on validation)')
  .option('--fallback <none|popularity>', 'What an unknown user gets: 404 (none, default) or the popularity list')
  .option('--feedback <file|none>', 'The feedback log (default: feedback.csv beside the model folders); none turns POST /feedback off')
  .option('--admin-token-file <file>', 'File holding the admin token (else CF_NATIVE_ADMIN_TOKEN; without one /admin answers 403)')
  .option('--watch <ms>', 'How often to check the model folders for a new version (default 1000; 0: only /admin/reload)')
  .option('--no-docs', 'Do not serve the OpenAPI document and Swagger UI at /docs')
  .option('--max-k <k>', 'Largest k a request may ask for (default 1000)')
  .option('--log-level <level>', 'info (default), warn, error, debug, silent')
  .option('--log-requests', 'Log every request (default: only counted in /metrics)')
  .action(async (path: string, opts: ServeFlags) => {
    // On one CPU, the same command again under node --single-threaded-gc (see ./gc.ts).
    const relaunched = await relaunchForGc();
    process.exitCode = relaunched ?? (await (await import('./serve.js')).serveCommand(path, opts));
  });

cli.help();
cli.version(packageVersion());

/**
 * The arguments with `--k -1` joined as `--k=-1`, and `--out -` as `--out=-`, for every option
 * that takes a value: cac reads a token starting with `-` as one more option, so it answered
 * "unknown option -1" where the option's own check should name the bad value, and "value is
 * missing" for the documented `--out -` (stdout).
 */
function joinNegativeValues(args: readonly string[]): string[] {
  const takesValue = new Set(
    [cli.globalCommand, ...cli.commands].flatMap((c) => c.options.filter((o) => /[<[]/.test(o.rawName)).flatMap((o) => o.rawName.split(/[ ,]+/).filter((n) => n.startsWith('--')))),
  );
  const out: string[] = [];
  for (const a of args) {
    const prev = out[out.length - 1];
    if (prev !== undefined && takesValue.has(prev) && /^-(?:[\d.]|$)/.test(a)) out[out.length - 1] = `${prev}=${a}`;
    else out.push(a);
  }
  return out;
}

const ARGS = joinNegativeValues(process.argv.slice(2));

/** An option as the user typed it: cac reports `--bogus-flag` camelCased, as `--bogusFlag`. */
function typed(name: string): string {
  const key = (arg: string) => arg.replace(/^-+/, '').split('=')[0]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const arg = ARGS.find((a) => a.startsWith('-') && key(a) === name.replace(/^-+/, ''));
  return arg ? arg.split('=')[0]! : name;
}

const GLOBAL_OPTIONS = ['--', 'help', 'h', 'version', 'v'];

try {
  cli.parse([...process.argv.slice(0, 2), ...ARGS], { run: false });
  if (!cli.matchedCommand) {
    // Without a command cac checks no options: `cf-native --bogus` would print the help and exit 0.
    const unknown = Object.keys(cli.options).find((o) => !GLOBAL_OPTIONS.includes(o));
    if (cli.args.length > 0) {
      console.error(`cf-native: unknown command ${cli.args[0]} (try --help)`);
      process.exitCode = 2;
    } else if (unknown !== undefined && !cli.options.help && !cli.options.version) {
      // Not with --help: `recommend --help` lands here with its options' defaults set
      // (--no-filter-seen's filterSeen: true), which are not unknown options.
      console.error(`cf-native: unknown option ${typed(unknown.length === 1 ? `-${unknown}` : `--${unknown}`)} (try --help)`);
      process.exitCode = 2;
    } else if (!cli.options.help && !cli.options.version) {
      cli.outputHelp();
    }
  } else {
    await cli.runMatchedCommand();
  }
} catch (err) {
  const message = isCfError(err) ? err.message : String((err as Error)?.message ?? err);
  const option = /^Unknown option `(.+)`$/.exec(message);
  console.error(`cf-native: ${option ? `unknown option ${typed(option[1]!)} (try --help)` : message}`);
  process.exitCode = 2;
}
