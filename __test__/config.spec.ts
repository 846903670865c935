import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultsOf } from '../src/models/params.js';
import { defaultConfig, loadConfig, parseConfig, type Config } from '../src/config/index.js';
import { CfError, isCfError } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'cf-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MINIMAL = `data:
  path: datasets/ml-latest-small/ratings.csv.gz
  columns: { user: userId, item: movieId }
models:
  - type: als
`;

/** The one-line ERR_CF_CONFIG message `text` is rejected with. */
function rejection(text: string, source = 'config.yaml'): string {
  try {
    parseConfig(text, source);
  } catch (err) {
    expect(isCfError(err, 'ERR_CF_CONFIG')).toBe(true);
    const message = (err as CfError).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('config was accepted');
}

describe('parseConfig: valid files', () => {
  it('fills every default for a minimal file', () => {
    const expected: Config = {
      data: {
        path: 'datasets/ml-latest-small/ratings.csv.gz',
        train: null,
        valid: null,
        test: null,
        delimiter: null,
        header: null,
        columns: { user: 'userId', item: 'movieId', rating: null, time: null },
        positive_threshold: null,
        negative_threshold: null,
        values: 'binary',
        duplicates: 'sum',
        min_user_interactions: 1,
        min_item_interactions: 1,
      },
      split: { strategy: 'leave-last-out', valid: 1, test: 1, seed: 42 },
      models: [
        {
          type: 'als',
          name: 'als',
          params: {
            factors: 64, regularization: 50, alpha: 10, iterations: 15, seed: 42, solver: 'cg',
            cg_steps: 3, cg_precision: 'mixed', confidence: 'linear', epsilon: 1, threads: 0, scale_regularization: false, compute_loss: false,
          },
        },
      ],
      evaluate: { k: [10, 20, 50], filter_seen: true, bootstrap: { resamples: 1000, seed: 42, level: 0.95 } },
      output: 'artifacts/config',
    };
    expect(parseConfig(MINIMAL, 'examples/config.yaml')).toEqual(expected);
  });

  it('keeps every value of a full file (loaded from disk)', () => {
    const file = join(dir, 'full.yml');
    writeFileSync(file, `# every key set
data:
  path: ratings.dat
  delimiter: "::"
  header: false
  columns: { user: 0, item: 1, rating: 2, time: 3 }
  positive_threshold: 3.5
  values: log1p
  duplicates: last
  min_user_interactions: 5
  min_item_interactions: 2
split: { strategy: random, valid: 0.1, test: 0.2, seed: 7 }
models:
  - type: als
    name: als-big
    params: { factors: 128, regularization: 0.1, alpha: 40, iterations: 20, seed: 1, solver: cholesky, cg_steps: 5,
              cg_precision: single, confidence: log, epsilon: 0.5, threads: 4, scale_regularization: true }
  - type: popularity
    params: {}
evaluate: { k: [50, 10, 10], filter_seen: false }
output: out/full
`);
    const config = loadConfig(file);
    expect(config.data).toMatchObject({
      path: 'ratings.dat', delimiter: '::', header: false, columns: { user: 0, item: 1, rating: 2, time: 3 },
      positive_threshold: 3.5, values: 'log1p', duplicates: 'last', min_user_interactions: 5, min_item_interactions: 2,
    });
    expect(config.split).toEqual({ strategy: 'random', valid: 0.1, test: 0.2, seed: 7 });
    expect(config.models).toEqual([
      {
        type: 'als', name: 'als-big',
        params: { factors: 128, regularization: 0.1, alpha: 40, iterations: 20, seed: 1, solver: 'cholesky', cg_steps: 5,
          cg_precision: 'single', confidence: 'log', epsilon: 0.5, threads: 4, scale_regularization: true, compute_loss: false },
      },
      { type: 'popularity', name: 'popularity', params: {} },
    ]);
    // Sorted and deduplicated: duplicate cutoffs would give duplicate metric keys.
    expect(config.evaluate).toEqual({ k: [10, 50], filter_seen: false, bootstrap: { resamples: 1000, seed: 42, level: 0.95 } });
    expect(config.output).toBe('out/full');
  });

  it('accepts a single k and fills unset ALS params', () => {
    const config = parseConfig(`${MINIMAL}    params: { factors: 8 }\nevaluate: { k: 5 }\n`, 'c.yaml');
    expect(config.evaluate.k).toEqual([5]);
    expect(config.models[0]!.params).toEqual({ ...defaultsOf('als'), factors: 8 });
  });

  it('defaults the split of pre-split files to none', () => {
    const config = parseConfig(`data:
  train: a.csv
  test: b.csv
  columns: { user: 0, item: 1 }
models: [{ type: popularity }]
`, 'pre.yaml');
    expect(config.data).toMatchObject({ path: null, train: 'a.csv', valid: null, test: 'b.csv' });
    expect(config.split).toEqual({ strategy: 'none' });
  });

  it('accepts a time split', () => {
    const config = parseConfig(`data:
  path: r.csv
  columns: { user: u, item: i, time: t }
split: { strategy: time, valid_cutoff: 100, test_cutoff: 200 }
models: [{ type: als }]
`, 't.yaml');
    expect(config.split).toEqual({ strategy: 'time', valid_cutoff: 100, test_cutoff: 200 });
  });

  it('builds a default config that passes its own validation', () => {
    const config = defaultConfig('datasets/x.csv', 'artifacts/x');
    const yaml = JSON.stringify({ ...config, data: { ...config.data, train: undefined, valid: undefined, test: undefined, delimiter: undefined, header: undefined, positive_threshold: undefined } });
    // JSON is YAML: feeding it back must give the same object.
    expect(parseConfig(yaml, 'x.json')).toEqual(config);
  });
});

describe('parseConfig: rejected files', () => {
  it('names an unknown key, its line and the closest key', () => {
    expect(rejection(`data:
  path: r.csv
  colums: { user: u, item: i }
models: [{ type: als }]
`)).toBe('config.yaml:3: unknown key data.colums (did you mean columns?)');
  });

  it('lists the allowed keys when nothing is close', () => {
    expect(rejection(`${MINIMAL}evaluate: { k: 10, banana: 1 }\n`)).toBe(
      'config.yaml:6: unknown key evaluate.banana (expected one of: k, filter_seen, bootstrap)',
    );
  });

  it('quotes an unknown key that would break the line, and cuts a long one', () => {
    // Found by the config fuzz target: a quoted key holding a CR or newline went into the message raw.
    expect(rejection(`${MINIMAL}split: { "te\\rst": 1 }\n`)).toBe(
      'config.yaml:6: unknown key split."te\\rst" (did you mean test?)',
    );
    expect(rejection(`${MINIMAL}"a\\nb": 1\n`)).toBe('config.yaml:6: unknown key "a\\nb" (expected one of: data, split, models, evaluate, output, checkpoint_every, tune)');
    expect(rejection(`${MINIMAL}${'k'.repeat(100)}: 1\n`)).toBe(
      `config.yaml:6: unknown key "${'k'.repeat(60)}..." (expected one of: data, split, models, evaluate, output, checkpoint_every, tune)`,
    );
  });

  it('reports a mapping used as a key without a Node warning on stderr', () => {
    // Found by the config fuzz target: the YAML library warned through process.emitWarning.
    const warnings: unknown[] = [];
    const emit = process.emitWarning;
    process.emitWarning = ((w: unknown) => void warnings.push(w)) as typeof process.emitWarning;
    try {
      expect(rejection(`${MINIMAL}? { a: 1 }\n: 2\n`)).toMatch(/^config\.yaml:\d+: unknown key \{ a: 1 \} \(expected one of: data, split, models, evaluate, output, checkpoint_every, tune\)$/);
    } finally {
      process.emitWarning = emit;
    }
    expect(warnings).toEqual([]);
  });

  it('rejects an unknown ALS param on its line', () => {
    expect(rejection(`${MINIMAL}    params:\n      factors: 8\n      factrs: 9\n`)).toBe(
      'config.yaml:8: unknown key models[0].params.factrs (did you mean factors?)',
    );
  });

  it('rejects factors 0 with the value it got', () => {
    expect(rejection(`${MINIMAL}    params:\n      factors: 0\n`)).toBe(
      'config.yaml:7: models[0].params.factors must be an integer in 1..=4096 (got 0)',
    );
  });

  it('rejects a wrong type', () => {
    expect(rejection(`${MINIMAL}    params: { regularization: "high" }\n`)).toBe(
      'config.yaml:6: models[0].params.regularization must be a finite number >= 0 and <= 1000000000 (got "high")',
    );
    expect(rejection(MINIMAL.replace('models:\n  - type: als\n', 'models: { type: als }\n'))).toBe(
      'config.yaml:4: models must be a list of models (got a mapping)',
    );
  });

  it('rejects k 0 and an empty k list', () => {
    expect(rejection(`${MINIMAL}evaluate:\n  k: [10, 0]\n`)).toBe('config.yaml:7: evaluate.k[1] must be an integer in [1, 4294967295] (got 0)');
    expect(rejection(`${MINIMAL}evaluate: { k: 0 }\n`)).toBe('config.yaml:6: evaluate.k must be an integer in [1, 4294967295] (got 0)');
    expect(rejection(`${MINIMAL}evaluate:\n  k: []\n`)).toBe('config.yaml:7: evaluate.k must list at least one cutoff');
  });

  it('rejects a missing columns.user without a line', () => {
    expect(rejection(MINIMAL.replace('user: userId, ', ''))).toBe('config.yaml: missing required key data.columns.user');
  });

  it('rejects both path and train, and neither', () => {
    expect(rejection(MINIMAL.replace('  path:', '  train: t.csv\n  path:'))).toBe(
      'config.yaml:2: data.train cannot be given with data.path: give one file to split (path) or pre-split files (train, valid, test), not both',
    );
    expect(rejection(MINIMAL.replace(/ {2}path: .*\n/, ''))).toBe(
      'config.yaml:1: data must give exactly one of path (one file to split) or train (pre-split files)',
    );
  });

  it('rejects a split strategy other than none with pre-split files', () => {
    expect(rejection(MINIMAL.replace('  path:', '  train:') + 'split:\n  strategy: random\n')).toBe(
      'config.yaml:7: split.strategy must be none when data.train is given, since the files are already split (got "random")',
    );
  });

  it('rejects a key of another split strategy', () => {
    expect(rejection(`${MINIMAL}split: { strategy: leave-last-out, test_cutoff: 5 }\n`)).toBe(
      'config.yaml:6: unknown key split.test_cutoff (not used by strategy leave-last-out; it belongs to strategy time)',
    );
  });

  it('rejects random fractions that leave no training data', () => {
    expect(rejection(`${MINIMAL}split: { strategy: random, valid: 0.5, test: 0.5 }\n`)).toBe(
      'config.yaml:6: split valid + test must be < 1 for strategy random (got 0.5 + 0.5)',
    );
  });

  it('rejects an unknown model type with a suggestion', () => {
    expect(rejection(MINIMAL.replace('type: als', 'type: lightgcn'))).toBe(
      'config.yaml:5: models[0].type must be one of "als", "bpr", "mf", "popularity", "svd", "ease", "knn", "content", "hybrid" (got "lightgcn")',
    );
    expect(rejection(MINIMAL.replace('type: als', 'type: ALS'))).toBe(
      'config.yaml:5: models[0].type must be one of "als", "bpr", "mf", "popularity", "svd", "ease", "knn", "content", "hybrid" (got "ALS"; did you mean als?)',
    );
  });

  it('rejects duplicate model names, explicit or defaulted', () => {
    expect(rejection(`${MINIMAL}  - type: als\n`)).toBe(
      'config.yaml:6: models[1].name "als" is already used by models[0] (the name defaults to the type); give each model a unique name, it is its output folder',
    );
    expect(rejection(`${MINIMAL}    name: a\n  - type: popularity\n    name: a\n`)).toBe(
      'config.yaml:8: models[1].name "a" is already used by models[0]; give each model a unique name, it is its output folder',
    );
  });

  it('rejects names that differ only in case, since they are one folder on some file systems', () => {
    expect(rejection(`${MINIMAL}  - type: popularity\n    name: ALS\n`)).toBe(
      'config.yaml:7: models[1].name "ALS" is already used by models[0] as "als", differing only in case; give each model a unique name, it is its output folder',
    );
  });

  it('rejects a model name that could leave the output folder', () => {
    expect(rejection(`${MINIMAL}    name: ../x\n`)).toMatch(/^config\.yaml:6: models\[0\]\.name must be a folder name/);
  });

  it('rejects params on popularity', () => {
    expect(rejection(MINIMAL.replace('type: als', 'type: popularity\n    params: { factors: 3 }'))).toBe(
      'config.yaml:6: unknown key models[0].params.factors (popularity takes no params)',
    );
  });

  it('rejects an empty model list', () => {
    expect(rejection(MINIMAL.replace('models:\n  - type: als\n', 'models: []\n'))).toBe('config.yaml:4: models must list at least one model');
  });

  it('rejects a column name when the file has no header', () => {
    expect(rejection(MINIMAL.replace('  columns:', '  header: false\n  columns:'))).toBe(
      'config.yaml:4: data.columns.user is a column name ("userId") but data.header is false; use a 0-based column index',
    );
  });

  it('rejects a YAML syntax error with its line', () => {
    expect(rejection('data:\n  path: [a, b\nmodels: []\n')).toMatch(/^config\.yaml:\d+: YAML syntax error: /);
    expect(rejection('data:\n  path: a\n  path: b\n')).toBe('config.yaml:3: YAML syntax error: Map keys must be unique');
    expect(rejection(`${MINIMAL}---\nmodels: []\n`)).toBe(
      'config.yaml:6: YAML syntax error: a config is a single YAML document (found a second ---)',
    );
  });

  it('keeps a YAML syntax error on one line when the source it quotes holds a CR', () => {
    // Found by the config fuzz target: the parser quotes source text ("Not a YAML token: ..."),
    // and only \n ended the first line, so a lone CR (old Mac line ends) split the message.
    expect(rejection('data: | x\r  y\n')).toBe('config.yaml:1: YAML syntax error: Not a YAML token: x');
    expect(rejection(`data: | x\u0001${'y'.repeat(200)}\n`)).toBe(
      `config.yaml:1: YAML syntax error: Not a YAML token: x\\u0001${'y'.repeat(100)}...`,
    );
  });

  it('rejects an empty file and a file of comments', () => {
    expect(rejection('')).toBe('config.yaml: the config file is empty (expected keys data, models, ...)');
    expect(rejection('# nothing\n\n')).toBe('config.yaml: the config file is empty (expected keys data, models, ...)');
  });

  it('rejects a top level that is not a mapping', () => {
    expect(rejection('- a\n- b\n')).toBe('config.yaml:1: the config must be a mapping of keys (got a list)');
  });

  it('rejects a missing file, naming it', () => {
    const missing = join(dir, 'nope.yaml');
    expect(() => loadConfig(missing)).toThrow(new CfError('ERR_CF_CONFIG', `${missing}: cannot read the config file: no such file`));
    try {
      loadConfig(missing);
    } catch (err) {
      expect(isCfError(err, 'ERR_CF_CONFIG')).toBe(true);
    }
  });

  it('prefixes the file path given to loadConfig', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `${MINIMAL}    params: { factors: -1 }\n`);
    expect(() => loadConfig(file)).toThrow(`${file}:6: models[0].params.factors must be an integer in 1..=4096 (got -1)`);
  });
});
