#!/usr/bin/env node
// cf-native command line: thin over the programmatic API so tests can call the same code.
import { cac } from 'cac';
import { isCfError } from '../errors.js';
import { packageVersion } from '../artifacts/version.js';
import { modelsCommand } from './models.js';
import { runTrainCommand } from './train.js';

const cli = cac('cf-native');

cli
  .command('train [config]', 'Train, evaluate and save the models of a YAML config (default: a demo on the embedded MovieLens data)')
  .option('--quiet', 'Only print the final table')
  .action(async (config: string | undefined, opts: { quiet?: boolean }) => {
    process.exitCode = await runTrainCommand(config, { quiet: opts.quiet ?? false });
  });

cli
  .command('models [type]', 'List the model types, or the parameters of one (names, bounds, defaults)')
  .action((type: string | undefined) => {
    process.exitCode = modelsCommand(type);
  });

cli.help();
cli.version(packageVersion());

try {
  cli.parse(process.argv, { run: false });
  if (!cli.matchedCommand) {
    if (cli.args.length > 0) {
      console.error(`cf-native: unknown command ${cli.args[0]} (try --help)`);
      process.exitCode = 2;
    } else if (!cli.options.help && !cli.options.version) {
      cli.outputHelp();
    }
  } else {
    await cli.runMatchedCommand();
  }
} catch (err) {
  console.error(`cf-native: ${isCfError(err) ? err.message : String((err as Error)?.message ?? err)}`);
  process.exitCode = 2;
}
