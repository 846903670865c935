// Bad configs through `cf-native train CONFIG`: exit code 2 with one line naming the config
// file, the line and the key path (or, for what only shows once the run starts, the key and
// its value), or accepted and said so here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectOneLineExit2, trainInProcess } from './helpers.js';

/** 40 rows, 8 users x 11 items, ratings 1..5, with a header. */
const GOOD = 'u,i,r\n' + Array.from({ length: 40 }, (_, j) => `u${j % 8},i${(j * 7) % 11},${1 + (j % 5)}`).join('\n') + '\n';

/** Lines 1-6 of every config; what a case appends starts on line 7. */
const base = (params = '{ factors: 4, iterations: 2 }', output = '$DIR/out') =>
  `data:\n  path: $DIR/d.csv\nmodels:\n  - type: als\n    params: ${params}\noutput: ${output}\n`;
/** A config whose line 5 holds these params. */
const params = (p: string) => base(`{ iterations: 2, ${p} }`);
/** A config with `data:` lines 2.. replaced (models on the line after them). */
const data = (lines: string) => `data:\n${lines}\nmodels: [{ type: als, params: { factors: 4, iterations: 2 } }]\noutput: $DIR/out\n`;

interface Case {
  name: string;
  yaml: string | Uint8Array;
  /** The config's line the message must name, if the key has one. */
  line?: number;
  want: RegExp;
  files?: Record<string, string>;
}

const P = 'models\\[0\\]\\.params';
const cases: Case[] = [
  // Every ALS parameter out of its domain (README table), on its line with the value as given.
  { name: 'factors 0', yaml: params('factors: 0'), line: 5, want: new RegExp(`${P}\\.factors must be an integer in 1\\.\\.=4096 \\(got 0\\)$`) },
  { name: 'factors 5000', yaml: params('factors: 5000'), line: 5, want: /params\.factors must be an integer in 1\.\.=4096 \(got 5000\)$/ },
  { name: 'factors -1', yaml: params('factors: -1'), line: 5, want: /params\.factors .*\(got -1\)$/ },
  { name: 'factors 2.5', yaml: params('factors: 2.5'), line: 5, want: /params\.factors .*\(got 2\.5\)$/ },
  { name: 'factors as a list of lists', yaml: params('factors: [[8]]'), line: 5, want: /params\.factors\[0\] .*\(got a list\)$/ },
  { name: 'iterations -5', yaml: base('{ iterations: -5 }'), line: 5, want: /params\.iterations must be an integer in 1\.\.=100000 \(got -5\)$/ },
  { name: 'threads 5000', yaml: params('threads: 5000'), line: 5, want: /params\.threads must be an integer in 0\.\.=1024 \(got 5000\)$/ },
  { name: 'threads 1e6', yaml: params('threads: 1e6'), line: 5, want: /params\.threads .*\(got 1000000\)$/ },
  { name: 'regularization .nan', yaml: params('regularization: .nan'), line: 5, want: /params\.regularization must be a finite number >= 0 and <= 1000000000 \(got NaN\)$/ },
  { name: 'regularization .inf', yaml: params('regularization: .inf'), line: 5, want: /params\.regularization .*\(got Infinity\)$/ },
  { name: 'alpha -1', yaml: params('alpha: -1'), line: 5, want: /params\.alpha must be a finite number >= 0 and <= 1000000 \(got -1\)$/ },
  { name: 'epsilon 0', yaml: params('epsilon: 0'), line: 5, want: /params\.epsilon must be a finite number >= 0\.000001 and <= 1000000000 \(got 0\)$/ },
  { name: 'seed -1', yaml: params('seed: -1'), line: 5, want: /params\.seed must be an integer in 0\.\.=4294967295 \(got -1\)$/ },
  { name: 'seed 2^32', yaml: params('seed: 4294967296'), line: 5, want: /params\.seed .*\(got 4294967296\)$/ },
  { name: 'cg_steps 0', yaml: params('cg_steps: 0'), line: 5, want: /params\.cg_steps must be an integer in 1\.\.=100 \(got 0\)$/ },
  { name: 'solver lu', yaml: params('solver: lu'), line: 5, want: /params\.solver must be one of "cg", "cholesky" \(got "lu"\)$/ },
  { name: 'confidence Log', yaml: params('confidence: Log'), line: 5, want: /params\.confidence must be one of "linear", "log" \(got "Log"; did you mean log\?\)$/ },
  { name: 'cg_precision half', yaml: params('cg_precision: half'), line: 5, want: /params\.cg_precision must be one of "mixed", "single" \(got "half"\)$/ },
  { name: 'compute_loss "yes"', yaml: params('compute_loss: "yes"'), line: 5, want: /params\.compute_loss must be true or false \(got "yes"\)$/ },
  { name: 'a misspelt parameter', yaml: params('regularisation: 1'), line: 5, want: /unknown key models\[0\]\.params\.regularisation \(did you mean regularization\?\)$/ },
  { name: 'params as a list', yaml: base('[4, 2]'), line: 5, want: /models\[0\]\.params must be a mapping \(got a list\)$/ },
  // Models.
  { name: 'two models with the same name', yaml: `${base()}  - type: popularity\n    name: als\n`.replace(/^output: .*\n/m, '') + 'output: $DIR/out\n', line: 7, want: /models\[1\]\.name "als" is already used by models\[0\]/ },
  { name: 'unknown model type', yaml: base().replace('type: als', 'type: ALS'), line: 4, want: /models\[0\]\.type must be one of "als", "bpr", "mf", "popularity", "svd", "ease", "knn", "content", "hybrid" \(got "ALS"; did you mean als\?\)$/ },
  // Top level, evaluate, output.
  { name: 'unknown top-level key', yaml: `${base()}extra: 1\n`, line: 7, want: /unknown key extra \(expected one of: data, split, models, evaluate, output, checkpoint_every, tune\)$/ },
  { name: 'checkpoint_every 0', yaml: `${base()}checkpoint_every: 0\n`, line: 7, want: /checkpoint_every must be an integer in \[1, 1000000\] \(got 0\)$/ },
  { name: 'checkpoint_every "often"', yaml: `${base()}checkpoint_every: often\n`, line: 7, want: /checkpoint_every must be an integer in \[1, 1000000\] \(got "often"\)$/ },
  { name: 'misspelt section', yaml: `${base()}evalute: { k: 5 }\n`, line: 7, want: /unknown key evalute \(did you mean evaluate\?\)$/ },
  { name: 'evaluate.k 0', yaml: `${base()}evaluate:\n  k: 0\n`, line: 8, want: /evaluate\.k must be an integer in \[1, 4294967295\] \(got 0\)$/ },
  { name: 'evaluate.k 5e9, past what the engine takes', yaml: `${base()}evaluate: { k: [10, 5000000000] }\n`, line: 7, want: /evaluate\.k\[1\] must be an integer in \[1, 4294967295\] \(got 5000000000\)$/ },
  { name: 'evaluate.k as a string', yaml: `${base()}evaluate: { k: ["5"] }\n`, line: 7, want: /evaluate\.k\[0\] .*\(got "5"\)$/ },
  { name: 'evaluate.filter_seen 1', yaml: `${base()}evaluate: { filter_seen: 1 }\n`, line: 7, want: /evaluate\.filter_seen must be true or false \(got 1\)$/ },
  { name: 'output empty', yaml: base(undefined, '""'), line: 6, want: /output must be a non-empty string \(got ""\)$/ },
  { name: 'output a number', yaml: base(undefined, '5'), line: 6, want: /output must be a non-empty string \(got 5\)$/ },
  // Splits.
  { name: 'random split fraction 1.5', yaml: `${base()}split: { strategy: random, valid: 1.5 }\n`, line: 7, want: /split\.valid must be a number in \[0, 1\) \(got 1\.5\)$/ },
  { name: 'random split fractions summing past 1', yaml: `${base()}split: { strategy: random, valid: 0.6, test: 0.5 }\n`, line: 7, want: /split valid \+ test must be < 1 for strategy random \(got 0\.6 \+ 0\.5\)$/ },
  { name: 'leave-last-out with a fraction', yaml: `${base()}split: { strategy: leave-last-out, test: 0.5 }\n`, line: 7, want: /split\.test must be an integer >= 0 \(got 0\.5\)$/ },
  { name: 'time split without test_cutoff', yaml: `${base()}split: { strategy: time }\n`, want: /: missing required key split\.test_cutoff$/ },
  { name: 'time split with a date string', yaml: `${base()}split:\n  strategy: time\n  test_cutoff: "2020-01-01"\n`, line: 9, want: /split\.test_cutoff must be a number .*\(got "2020-01-01"\)$/ },
  { name: 'time split cutoff 1e300', yaml: `${base()}split: { strategy: time, test_cutoff: 1e300 }\n`, line: 7, want: /split\.test_cutoff must be a number in \(-9000000000000000, 9000000000000000\) \(got 1e\+300\)$/ },
  { name: 'valid_cutoff after test_cutoff', yaml: `${base()}split: { strategy: time, valid_cutoff: 10, test_cutoff: 5 }\n`, line: 7, want: /split\.valid_cutoff must be less than split\.test_cutoff \(got 10 >= 5\)$/ },
  { name: 'a key of another strategy', yaml: `${base()}split: { strategy: random, valid_cutoff: 5 }\n`, line: 7, want: /unknown key split\.valid_cutoff \(not used by strategy random; it belongs to strategy time\)$/ },
  { name: 'unknown split strategy', yaml: `${base()}split: { strategy: kfold }\n`, line: 7, want: /split\.strategy must be one of "leave-last-out", "random", "time", "none" \(got "kfold"\)$/ },
  // Data section.
  { name: 'column index 2^32', yaml: data('  path: $DIR/d.csv\n  columns: { user: 0, item: 4294967296 }'), line: 3, want: /data\.columns\.item must be a column name \(string\) or a 0-based column index \(integer in \[0, 4294967295\]\) \(got 4294967296\)$/ },
  { name: 'column index -1', yaml: data('  path: $DIR/d.csv\n  columns: { user: -1, item: 1 }'), line: 3, want: /data\.columns\.user .*\(got -1\)$/ },
  { name: 'min_user_interactions 2^32', yaml: data('  path: $DIR/d.csv\n  min_user_interactions: 4294967296'), line: 3, want: /data\.min_user_interactions must be an integer in \[1, 4294967295\] \(got 4294967296\)$/ },
  { name: 'delimiter of three characters', yaml: data('  path: $DIR/d.csv\n  delimiter: "::;"'), line: 3, want: /data\.delimiter must be one of .* \(got "::;"; did you mean ::\?\)$/ },
  { name: 'header "yes"', yaml: data('  path: $DIR/d.csv\n  header: "yes"'), line: 3, want: /data\.header must be true or false \(got "yes"\)$/ },
  { name: 'positive_threshold .nan', yaml: data('  path: $DIR/d.csv\n  positive_threshold: .nan'), line: 3, want: /data\.positive_threshold must be a number \(got NaN\)$/ },
  { name: 'path and train both', yaml: data('  path: $DIR/d.csv\n  train: $DIR/d.csv'), line: 3, want: /data\.train cannot be given with data\.path/ },
  // YAML itself.
  { name: 'tab indentation', yaml: 'data:\n\tpath: x\n', line: 2, want: /YAML syntax error: Tabs are not allowed as indentation$/ },
  { name: 'unclosed flow mapping', yaml: 'data: { path: x\nmodels: []\n', line: 2, want: /YAML syntax error: / },
  { name: 'two documents', yaml: `${base()}---\nmodels: []\n`, line: 7, want: /YAML syntax error: a config is a single YAML document \(found a second ---\)$/ },
  { name: 'an alias bomb', yaml: ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`)].join('\n') + '\n', want: /: Excessive alias count indicates a resource exhaustion attack$/ },
  { name: 'an alias without its anchor', yaml: base('*nope'), want: /: Unresolved alias .*nope/ },
  { name: 'empty file', yaml: '', want: /: the config file is empty \(expected keys data, models, \.\.\.\)$/ },
  { name: 'a top level that is a list', yaml: '- data\n- models\n', line: 1, want: /the config must be a mapping of keys \(got a list\)$/ },
  { name: 'nesting 5000 deep', yaml: `data: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, line: 1, want: /YAML syntax error: / },
  // Files that are no UTF-8 text.
  { name: 'UTF-16 config with a BOM', yaml: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(base(), 'utf16le')]), want: /: the config file is UTF-16 or UTF-32 \(it starts with the byte order mark FF FE\); save it as UTF-8$/ },
  { name: 'UTF-16 config without a BOM', yaml: Buffer.from(base(), 'utf16le'), want: /: the config file is not UTF-8 text \(byte 1 is NUL: UTF-16 without a byte order mark, or a binary file\)/ },
  { name: 'binary file without NULs as the config', yaml: Buffer.from(Array.from({ length: 300 }, (_, i) => 1 + ((i * 97) % 255))), line: 1, want: /the config must be a mapping of keys \(got ".*"\.\.\. \(\d+ characters\)\)$/ },
  // Checked when the run starts: the message names the key and its value.
  // Linux's kernel file systems are refused by name (elsewhere /proc is an ordinary path).
  ...(process.platform === 'linux' ? [{ name: 'output under /proc', yaml: base(undefined, '/proc/x'), want: /^cf-native: output: \/proc\/x: \/proc is on a special file system/ }] : []),
  { name: 'output that is a file', yaml: base(undefined, '$DIR/d.csv'), want: /^cf-native: output: .*d\.csv: exists and is not a folder$/ },
  { name: 'output under a file', yaml: base(undefined, '$DIR/d.csv/sub'), want: /^cf-native: output: .*d\.csv\/sub: .*d\.csv is a file, so no folder can be created under it$/ },
  { name: 'time split over a file without times', yaml: `${base()}split: { strategy: time, test_cutoff: 5 }\n`, want: /^cf-native: split strategy 'time' needs a time column \(data\.columns\.time\)$/ },
  { name: 'cutoffs that leave no training rows', yaml: `${data('  path: $DIR/t.csv\n  columns: { user: 0, item: 1, time: 2 }')}split: { strategy: time, test_cutoff: 0 }\n`, files: { 't.csv': 'a,1,5\nb,2,6\na,2,7\n' }, want: /^cf-native: the split leaves no training data \(3 rows, all in validation or test\); move the cutoffs/ },
];

describe('bad configs: exit 2, one line naming the file, line and key', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const r = await trainInProcess(c.yaml, { 'd.csv': GOOD, ...c.files });
      // Messages about the file itself name it; the ones from the run name the key instead.
      const fromRun = /^\^cf-native: /.test(c.want.source);
      expectOneLineExit2(r, c.want, fromRun ? [] : [r.config + (c.line === undefined ? ': ' : `:${c.line}: `)]);
    });
  }
});

describe('configs that look wrong but are accepted', () => {
  it('evaluate.k 1e9 trains, capping each list at the items there are, and writes the metrics', async () => {
    const r = await trainInProcess(`${base()}evaluate: { k: [10, 1000000000] }\n`, { 'd.csv': GOOD });
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(r.dir, 'out', 'als', 'metrics.json'), 'utf8'));
    // Every held-out item is within a list of all items: recall and hit rate are 1.
    expect(m.test['recall@1000000000']).toBe(1);
    expect(m.test['hit_rate@1000000000']).toBe(1);
    expect(m.test['precision@1000000000']).toBeGreaterThan(0);
    expect(r.stdout).toContain('recall@1000000000');
  });

  it('anchors and aliases used as intended', async () => {
    const yaml = `data:\n  path: $DIR/d.csv\nmodels:\n  - type: als\n    params: &p { factors: 4, iterations: 2 }\n  - type: als\n    name: als2\n    params: *p\noutput: $DIR/out\n`;
    const r = await trainInProcess(yaml, { 'd.csv': GOOD });
    expect(r.code, r.stderr).toBe(0);
  });

  it('Latin-1 bytes in a comment (not UTF-8, but only in a comment)', async () => {
    const yaml = Buffer.concat([Buffer.from(base() + '# caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    const r = await trainInProcess(yaml, { 'd.csv': GOOD });
    expect(r.code, r.stderr).toBe(0);
  });
});
